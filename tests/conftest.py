"""Test-wide settings: a persistent XLA compilation cache, so that programs
repeated across tests (same model, same shapes) compile once per machine."""

import os
import tempfile

import jax

jax.config.update("jax_compilation_cache_dir",
                  os.environ.get("MERJAX_TEST_JAX_CACHE",
                                 os.path.join(tempfile.gettempdir(), "merjax-test-jax-cache")))
jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.5)
jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)
