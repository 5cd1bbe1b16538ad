"""A task for the worker tests: it runs until the test lets it finish.

It marks that it has started (a file beside the flag) and then waits for the flag
file to appear, polling: the test decides when the task ends, not a clock.
"""

from __future__ import annotations

import time
from pathlib import Path

from django_tasks import task

# Far longer than any test waits: the task never ends by itself while a test runs.
GIVE_UP_SECONDS = 900


@task()
def wait_for_flag(flag: str) -> str:
    flag_path = Path(flag)
    Path(f"{flag}.started").touch()
    deadline = time.monotonic() + GIVE_UP_SECONDS
    while not flag_path.exists():
        if time.monotonic() > deadline:
            raise TimeoutError("the test never raised its flag")
        time.sleep(0.05)
    return "finished"
