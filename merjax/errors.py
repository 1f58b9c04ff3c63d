"""The one exception type merjax raises for bad input."""


class MerjaxError(Exception):
  """Bad input, with a one-line message naming the file, row, clip or fold.

  CLIs print `str(error)` and exit non-zero instead of showing a traceback.
  """
