# Shared by scripts/test and scripts/demo --deb: as root, install what packaging the
# reference app needs when any of it is missing (setup.py bdist_rpm and bdist_deb:
# rpmbuild; alien, which brings debhelper; fakeroot; to unpack and install: dpkg-deb,
# rpm2cpio, cpio).  Not as root: nothing is installed (those tests skip and say why).
# Usage: source scripts/_packaging_tools.sh
if [ "$(id -u)" = 0 ]; then
    for tool in rpmbuild alien rpm2cpio cpio fakeroot dpkg-deb; do
        if ! command -v "$tool" >/dev/null; then
            (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
                rpm alien rpm2cpio cpio fakeroot dpkg-dev) >&2
            break
        fi
    done
fi
