"""What every command-line tool shares: logging, exit statuses, one-line errors.

Exit statuses (docs/reliability.md):
  0    done
  2    bad input: a one-line `error: ...` naming the file, row, clip, key or fold
  3    the run finished but some members failed (non-finite loss); --allow-failed gives 0
  4    a process of a multi-process run died (named); rerunning resumes
  130  interrupted (Ctrl-C); rerunning the same command resumes
"""

from __future__ import annotations

import argparse
import errno
import logging
import sys
from collections.abc import Callable, Sequence

from merjax.errors import MerjaxError

OK, BAD_INPUT, FAILED_MEMBERS, INTERRUPTED = 0, 2, 3, 130
PROCESS_LOST = 4   # another process of a multi-process run died (merjax/distributed.py)


def configure_logging(level: int = logging.INFO) -> None:
  """merjax's loggers print their messages alone on stderr."""
  handler = logging.StreamHandler(sys.stderr)
  handler.setFormatter(logging.Formatter("%(message)s"))
  root = logging.getLogger("merjax")
  root.handlers[:] = [handler]
  root.setLevel(level)
  root.propagate = False


def log(message: str) -> None:
  """A progress line on stderr (what the CLIs pass as `log=`)."""
  logging.getLogger("merjax").info(message)


def parse(parser: argparse.ArgumentParser, argv: Sequence[str] | None):
  """Arguments with key=value overrides allowed on both sides of the options."""
  return parser.parse_intermixed_args(sys.argv[1:] if argv is None else list(argv))


def _os_error(e: OSError) -> str:
  where = f"{e.filename}: " if e.filename else ""
  if e.errno == errno.ENOSPC:
    return f"{where}no space left on the device; what finished is kept: free space and rerun"
  if e.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
    return f"{where}cannot write here ({e.strerror})"
  return f"{where}{e.strerror or e}"


def guarded(body: Callable[[], int], resume_hint: str = "") -> int:
  """Runs `body()` and turns bad input, OS errors and Ctrl-C into one line and an exit status."""
  configure_logging()
  try:
    return body()
  except MerjaxError as e:
    print(f"error: {e}", file=sys.stderr)
    return BAD_INPUT
  except OSError as e:
    print(f"error: {_os_error(e)}", file=sys.stderr)
    return BAD_INPUT
  except KeyboardInterrupt:
    print("interrupted" + (f"; {resume_hint}" if resume_hint else ""), file=sys.stderr)
    return INTERRUPTED
  except Exception as e:  # noqa: BLE001 - only a dead peer process is turned into one line
    if "merjax.distributed" not in sys.modules:   # not a multi-process run
      raise
    from merjax import distributed  # pylint: disable=import-outside-toplevel
    message = distributed.lost_process(e)
    if message is None:
      raise
    print(f"error: {message}", file=sys.stderr)
    distributed.abort(PROCESS_LOST)
