"""Regenerate migrations/0001_initial.py from app.models with peewee's own generator.

peewee's generator leaves out CHECK constraints (the database guards stock >= 0 and the
like through them), so this adds them to each frozen field. Python-side defaults are not
part of the schema, so the generator's notes about them are dropped. Only for the initial
migration while nothing is deployed; later changes are new numbered migrations.
"""
import os
import re
import sys

sys.path.insert(0, os.getcwd())
import playhouse.migrations as pm  # noqa: E402

_orig = pm._build_field_args


def _with_checks(field, imports, todos, targets=None, unbound=False):
    args = _orig(field, imports, todos, targets, unbound)
    checks = [c.sql for c in (field.constraints or []) if getattr(c, "sql", "").startswith("CHECK")]
    if checks:
        args.append("constraints=[%s]" % ", ".join("SQL(%r)" % c for c in checks))
    return args


pm._build_field_args = _with_checks

if __name__ == "__main__":
    path = "migrations/0001_initial.py"
    if os.path.exists(path):
        os.remove(path)
    diff = pm._resolve_diff(None, "app.models:MODELS")
    body = pm.template(diff)
    body = "\n".join(l for l in body.splitlines() if not re.match(r"# TODO: \w+: default", l)) + "\n"
    body = body.replace("# Generated from a schema diff",
                        '"""The initial schema."""\n# Generated from a schema diff', 1)
    os.makedirs("migrations", exist_ok=True)
    with open(path, "w") as fh:
        fh.write(body)
    print(path)
