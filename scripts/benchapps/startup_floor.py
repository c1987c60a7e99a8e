"""The floor: an app that only reads its document's version row with ``sqlite3``.

Frozen by ``scripts/bench`` the same way as ``startup_ours.py`` (same freezer, mode
and application excludes), without frozen-alembic.  ``APP DOC --report`` prints
(JSON) the version and the modules loaded; it is never timed.
"""

import sqlite3
import sys

conn = sqlite3.connect(sys.argv[1])
rows = conn.execute("SELECT version_num FROM alembic_version").fetchall()
conn.close()

if sys.argv[2:] == ["--report"]:
    modules = sorted(sys.modules)
    import json

    print(json.dumps({"after": [r[0] for r in rows], "modules": modules}))
