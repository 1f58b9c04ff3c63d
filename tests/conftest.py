"""Test-wide settings: fast XLA compilation and a persistent compilation cache,
so that programs repeated across tests (same model, same shapes) compile once."""

import os
import tempfile

# Tests are dominated by XLA compilation of tiny programs: compile them with
# the CPU backend's optimisation off (set before jax initialises its backend).
os.environ.setdefault("XLA_FLAGS", "--xla_backend_optimization_level=0")

import jax  # pylint: disable=wrong-import-position

# Partitionable threefry compiles each random op ~10x slower on the CPU.
jax.config.update("jax_threefry_partitionable", False)
jax.config.update("jax_compilation_cache_dir",
                  os.environ.get("MERJAX_TEST_JAX_CACHE",
                                 os.path.join(tempfile.gettempdir(), "merjax-test-jax-cache")))
jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.5)
jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)


def pytest_sessionfinish(session, exitstatus):
  """With MERJAX_FAIL_ON_SKIP=1 (.ci/run), a skipped test fails the run: CI skips none."""
  if os.environ.get("MERJAX_FAIL_ON_SKIP") != "1" or exitstatus != 0:
    return
  reporter = session.config.pluginmanager.get_plugin("terminalreporter")
  skipped = reporter.stats.get("skipped", []) if reporter else []
  if skipped:
    reporter.write_line(f"MERJAX_FAIL_ON_SKIP: {len(skipped)} test(s) skipped; CI skips none")
    session.exitstatus = 1
