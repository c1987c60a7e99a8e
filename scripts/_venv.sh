# Shared by scripts/test, scripts/demo and scripts/bench: make (or reuse) the project's
# virtual environment and install the project into it from the package registry.
# Usage: source scripts/_venv.sh EXTRAS   (e.g. "dev")
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="${FROZEN_ALEMBIC_VENV:-$root/.venv}"
extras="${1:-dev}"
python="${PYTHON:-$(command -v python3.11 || command -v python3)}"
stamp="$venv/.frozen-alembic-installed"
want="$(sha256sum < "$root/pyproject.toml" | cut -c1-16)-$extras"
if [ ! -x "$venv/bin/python" ]; then
    echo "==> creating virtual environment $venv" >&2
    "$python" -m venv "$venv"
fi
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    echo "==> installing frozen-alembic[$extras] into $venv" >&2
    "$venv/bin/python" -m pip install --quiet --upgrade pip >&2
    "$venv/bin/python" -m pip install --quiet -e "$root[$extras]" >&2
    echo "$want" > "$stamp"
fi
export PATH="$venv/bin:$PATH"
