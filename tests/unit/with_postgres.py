"""Runs a command with a private PostgreSQL cluster (tests/lib/postgres.py) and
ACMEDNSD_TEST_ENGINE=postgres, ACMEDNSD_TEST_PG=<its key=value connection string>;
exits with the command's status. The cluster is stopped by PID afterwards."""
import os
import subprocess
import sys

import postgres


def main():
    with postgres.Postgres(durable=False) as pg:
        env = dict(os.environ, ACMEDNSD_TEST_ENGINE="postgres", ACMEDNSD_TEST_PG=pg.keyvalue())
        r = subprocess.run(sys.argv[1:], env=env, timeout=900)
    sys.exit(r.returncode)


if __name__ == "__main__":
    main()
