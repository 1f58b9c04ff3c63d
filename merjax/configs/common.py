"""The base every experiment config starts from: every key's default.

The keys, their defaults and their meanings are in merjax/configs/schema.py.
"""

from merjax.configs import schema


def base_config() -> dict:
  return schema.defaults()
