"""Helpers the dataset loaders share: xlsx rows, header lookup, frame folders, problem reports,
and the one skeleton of the sheet-based loaders (SheetDataset, load_sheet_dataset).

Loaders read xlsx with openpyxl directly (no pandas). Rows are addressed by
their Excel row number (1-based) in every message.
"""

from __future__ import annotations

import dataclasses
import difflib
import fnmatch
import logging
import os
import re
from collections.abc import Callable, Iterable, Mapping, Sequence

from merjax.errors import MerjaxError

logger = logging.getLogger("merjax.data")

# The `action` of a problem that makes a row (or the whole copy) unusable.
FATAL = "error: not usable"

# Options every real loader takes besides its own (see Report).
COMMON_OPTIONS = ("problems", "collect_errors")


class Report:
  """Collects policy-handled problems; raises on errors unless collecting.

  `problems` is a caller-owned list of {"where", "what", "action"} dicts.
  With `collect_errors`, an error is appended with action FATAL and the row is
  skipped (check_data uses this to list every problem in one pass).
  """

  def __init__(self, problems: list | None = None, collect_errors: bool = False):
    self.problems = problems if problems is not None else []
    self.collect = collect_errors

  def note(self, where: str, what: str, action: str):
    self.problems.append({"where": where, "what": what, "action": action})

  def error(self, where: str, what: str):
    if not self.collect:
      raise MerjaxError(f"{where}: {what}")
    self.note(where, what, FATAL)


def report_of(options: dict) -> Report:
  """The Report a loader's `problems=` / `collect_errors=` options ask for."""
  return Report(options.pop("problems", None), options.pop("collect_errors", False))


def unknown_key(dotted: str, known: Iterable[str]) -> MerjaxError:
  """`a.b: unknown key; did you mean a.c?` (or the known keys when none is close)."""
  prefix, _, key = dotted.rpartition(".")
  names = sorted(known)
  close = difflib.get_close_matches(key, names, n=3, cutoff=0.6)
  dot = f"{prefix}." if prefix else ""
  hint = (f"did you mean {' or '.join(dot + c for c in close)}?" if close
          else f"known: {', '.join(names) if names else 'none'}")
  return MerjaxError(f"{dotted}: unknown key; {hint}")


def check_options(options: Mapping, known: Iterable[str], prefix: str = "data.options"):
  """MerjaxError naming `<prefix>.<key>` for the first option not in `known`."""
  known = list(known)
  for key in options:
    if key not in known:
      raise unknown_key(f"{prefix}.{key}", known)


def check_choice(options: Mapping, key: str, choices: Sequence[str]):
  """MerjaxError naming data.options.<key> when its value (default: the first
  choice) is not one of `choices`."""
  value = options.get(key, choices[0])
  if value not in choices:
    raise MerjaxError(f"data.options.{key}: must be {' or '.join(choices)}, got '{value}'")


def take_options(options: Mapping, defaults: Mapping, prefix: str = "data.options") -> dict:
  """A loader's option values: `defaults` updated by `options` (unknown key: MerjaxError)."""
  check_options(options, defaults, prefix)
  return {**defaults, **options}


def composite_options(options: Mapping, loaders: Mapping) -> tuple[dict, dict]:
  """({dataset: <dataset>_root or None}, {dataset: <dataset>_options}) of a composite
  loader (megc2019, casme2_samm), each part's options checked against its loader's
  OPTIONS (an unknown one: MerjaxError naming data.options.<dataset>_options.<key>)."""
  known = [f"{d}_{kind}" for d in loaders for kind in ("root", "options")]
  check_options(options, known)
  roots, extra = {}, {}
  for d, module in loaders.items():
    roots[d] = options.get(f"{d}_root") or None
    given = options.get(f"{d}_options") or {}
    if not isinstance(given, Mapping):
      raise MerjaxError(f"data.options.{d}_options: must be a dict of {d} options, "
                        f"got {given!r}")
    check_options(given, module.OPTIONS, f"data.options.{d}_options")
    extra[d] = dict(given)
  return roots, extra


def load_parts(root: str, options: dict, loaders: Mapping) -> tuple[Report, dict, dict]:
  """(report, {dataset: its root}, {dataset: its clips}) of a composite loader: each
  part's loader run on <dataset>_root (default `root`) with <dataset>_options,
  all sharing the `problems` / `collect_errors` of `options` (sheets.Report)."""
  problems = options.pop("problems", None)
  collect = options.pop("collect_errors", False)
  report = Report(problems, collect)
  roots, extra = composite_options(options, loaders)
  roots = {d: given or root for d, given in roots.items()}
  clips = {d: module.load(roots[d], problems=report.problems, collect_errors=collect, **extra[d])
           for d, module in loaders.items()}
  return report, roots, clips


# ----------------------------------------------------------------- files

def find_files(root: str, patterns: Sequence[str], depth: int = 3) -> list[str]:
  """Files under `root` (at most `depth` levels down) whose names match a glob."""
  found = []
  for path, dirs, files in _walk(root, depth):
    for name in files:
      if any(fnmatch.fnmatch(name.lower(), p.lower()) for p in patterns):
        found.append(os.path.join(path, name))
  return sorted(found)


def find_dir(root: str, names: Sequence[str], child: str | None = None,
             depth: int = 3) -> str | None:
  """The shallowest folder under `root` (root included) named one of `names`.

  With `child` (a regex), the folder must also hold a sub-folder whose name
  fully matches it; root itself qualifies then whatever its name.
  """
  wanted = {n.lower() for n in names}

  def ok(path):
    if child is None:
      return True
    return any(re.fullmatch(child, d, re.IGNORECASE) and os.path.isdir(os.path.join(path, d))
               for d in os.listdir(path))

  if child is not None and ok(root):
    return root
  if os.path.basename(os.path.normpath(root)).lower() in wanted and ok(root):
    return root
  for path, dirs, _ in _walk(root, depth):
    for d in dirs:
      if d.lower() in wanted and ok(os.path.join(path, d)):
        return os.path.join(path, d)
  return None


def _walk(root: str, depth: int):
  if not os.path.isdir(root):
    raise MerjaxError(f"{root}: dataset root is not a folder")
  base = os.path.normpath(root).count(os.sep)
  for path, dirs, files in os.walk(root):
    dirs.sort()
    if path.count(os.sep) - base >= depth:
      dirs[:] = []
    yield path, dirs, files


def one_annotation(root: str, patterns: Sequence[str], what: str,
                   prefer: Sequence[str] = (), report: Report | None = None) -> str:
  """The single annotation file matching `patterns` (or the first of `prefer`).

  When several match and one is preferred, the choice is logged and noted in
  `report` (so check_data lists it); with no preferred one it is an error.
  """
  found = find_files(root, patterns)
  if not found:
    raise MerjaxError(f"{root}: no {what} annotation file ({', '.join(patterns)})")
  if len(found) > 1:
    names = ", ".join(os.path.relpath(f, root) for f in found)
    for name in prefer:
      hits = [f for f in found if os.path.basename(f).lower() == name.lower()]
      if hits:
        chosen = os.path.relpath(hits[0], root)
        logger.warning(f"{root}: {len(found)} {what} annotation files ({names}); reading "
                       f"{chosen} (data.options.annotation=PATH picks another)")
        if report is not None:
          report.note(root, f"{len(found)} {what} annotation files ({names})", f"read {chosen}")
        return hits[0]
    raise MerjaxError(f"{root}: several {what} annotation files ({names}); "
                      f"pass data.options.annotation=PATH")
  return found[0]


# ----------------------------------------------------------------- sheets

def read_sheet(path: str, sheet: str | None = None) -> list[tuple]:
  """All rows of one sheet (the first when `sheet` is None) as value tuples."""
  import openpyxl
  try:
    book = openpyxl.load_workbook(path, read_only=True, data_only=True)
  except Exception as e:  # openpyxl raises many types for broken files.
    raise MerjaxError(f"{path}: not a readable xlsx file ({type(e).__name__})") from None
  try:
    if sheet is None:
      ws = book.worksheets[0]
    elif sheet in book.sheetnames:
      ws = book[sheet]
    else:
      raise MerjaxError(f"{path}: no sheet '{sheet}' (sheets: {', '.join(book.sheetnames)})")
    return [tuple(r) for r in ws.iter_rows(values_only=True)]
  finally:
    book.close()


def sheet_names(path: str) -> list[str]:
  import openpyxl
  try:
    book = openpyxl.load_workbook(path, read_only=True)
  except Exception as e:
    raise MerjaxError(f"{path}: not a readable xlsx file ({type(e).__name__})") from None
  names = list(book.sheetnames)
  book.close()
  return names


def _norm(value) -> str:
  return re.sub(r"[\s_]+", "", str(value or "")).lower()


def header_columns(path: str, rows: Sequence[tuple], header_row: int,
                   columns: dict[str, Sequence[str]]) -> dict[str, int]:
  """Column index of each wanted column, checking the header is on `header_row`.

  `columns` maps a key to accepted header spellings (compared without case,
  spaces or underscores). Raises MerjaxError naming the file and row when the
  header is elsewhere or a column is missing.
  """
  def find(row):
    cells = [_norm(c) for c in row]
    out = {}
    for key, names in columns.items():
      for name in names:
        if _norm(name) in cells:
          out[key] = cells.index(_norm(name))
          break
    return out

  if len(rows) < header_row:
    raise MerjaxError(f"{path}: only {len(rows)} rows, header expected on row {header_row}")
  got = find(rows[header_row - 1])
  if len(got) == len(columns):
    return got
  if not got:
    for i, row in enumerate(rows[:40]):
      if len(find(row)) == len(columns):
        raise MerjaxError(f"{path}: header expected on row {header_row}, found on row {i + 1}")
  missing = [columns[k][0] for k in columns if k not in got]
  raise MerjaxError(f"{path} row {header_row}: missing column(s) {', '.join(missing)}")


def is_blank(row: Iterable) -> bool:
  return all(c is None or str(c).strip() == "" for c in row)


def as_int(value) -> int | None:
  """An integer cell (int, integral float or digit string); None when blank.

  Raises ValueError for anything else ("/", "12a", 3.5).
  """
  if value is None or (isinstance(value, str) and not value.strip()):
    return None
  if isinstance(value, bool):
    raise ValueError(value)
  if isinstance(value, int):
    return value
  if isinstance(value, float) and value.is_integer():
    return int(value)
  text = str(value).strip()
  if re.fullmatch(r"\d+(\.0+)?", text):
    return int(float(text))
  raise ValueError(value)


def text(value) -> str:
  """A cell as stripped text ('' when blank); integral floats lose their '.0'."""
  if value is None:
    return ""
  if isinstance(value, float) and value.is_integer():
    value = int(value)
  return str(value).strip()


# ----------------------------------------------------------------- frames

IMAGE_EXTS = (".jpg", ".jpeg", ".png", ".bmp")


def list_frames(folder: str, pattern: str) -> list[tuple[int, str]]:
  """(frame number, path) of the files in `folder` whose name fully matches
  `pattern` (one group = the frame number), sorted by number.

  Anything else in the folder (thumbs, shortcuts) is ignored.
  """
  regex = re.compile(pattern, re.IGNORECASE)
  out = []
  for name in os.listdir(folder):
    m = regex.fullmatch(name)
    if m:
      out.append((int(m.group(1)), os.path.join(folder, name)))
  out.sort()
  return out


def frame_window(frames: Sequence[tuple[int, str]], onset: int, apex: int | None,
                 offset: int, whole: bool = True):
  """Maps annotated frame *numbers* to 0-based positions in the frame tuple.

  The rule: a frame number N becomes the position of the file numbered N in
  the folder's files sorted by number. With `whole`, the tuple is the whole
  folder (per-clip folders); otherwise only the files numbered onset..offset
  (whole-video folders). Every number in onset..offset must have a file.
  Returns (paths, onset, apex, offset) or raises ValueError with the reason.
  """
  numbers = [n for n, _ in frames]
  position = {n: i for i, n in enumerate(numbers)}
  if not frames:
    raise ValueError("no frame files")
  missing = [n for n in range(onset, offset + 1) if n not in position]
  if missing:
    span = f"{missing[0]}" if len(missing) == 1 else f"{missing[0]}..{missing[-1]} ({len(missing)} files)"
    raise ValueError(f"frame files missing for frame number(s) {span} "
                     f"(folder has {numbers[0]}..{numbers[-1]})")
  first = 0 if whole else position[onset]
  last = len(frames) - 1 if whole else position[offset]
  paths = tuple(p for _, p in frames[first:last + 1])
  to_index = lambda n: None if n is None else position[n] - first
  return paths, to_index(onset), to_index(apex), to_index(offset)


def filter_protocol(clips: list, protocol: str | None) -> list:
  """The clips the named protocol keeps (labels stay the dataset's own)."""
  if protocol is None:
    return clips
  from merjax.data.labels import get_protocol
  kept, _, _ = get_protocol(protocol, clips).apply(clips)
  return kept


# ----------------------------------------------------------------- rows

class RowError(ValueError):
  """One annotation row (or clip) is unusable; the loader reports it."""


def data_rows(rows: Sequence[tuple], header_row: int):
  """(Excel row number, row) of the non-blank rows after the header."""
  for i in range(header_row, len(rows)):
    if not is_blank(rows[i]):
      yield i + 1, rows[i]


def clips_from_rows(path: str, rows: Sequence[tuple], header_row: int,
                    make: Callable[[tuple, str], object], report: Report) -> list:
  """The clips of a sheet's data rows: `make(row, where)` per non-blank row below
  `header_row` (0: no header) gives a Clip, or None for a row a policy leaves
  out; a RowError becomes a report error naming the file and row. A sheet
  without data rows, or whose rows give no clip, is an error naming the file;
  so is a repeated dataset/subject/clip key.
  """
  numbered = list(data_rows(rows, header_row))
  if not numbered:
    below = f" below its header (row {header_row})" if header_row else ""
    report.error(path, f"the sheet has no data rows{below}")
    return []
  clips = []
  for r, row in numbered:
    where = f"{os.path.basename(path)} row {r}"
    try:
      clip = make(row, where)
    except RowError as e:
      report.error(where, str(e))
      continue
    if clip is not None:
      clips.append(clip)
  if not clips:
    report.error(path, f"none of its {len(numbered)} data rows gives a clip")
  check_unique(clips, report, path)
  return clips


def cell(row: tuple, col: int):
  return row[col] if col < len(row) else None


def need_int(value, column: str) -> int:
  """A required frame-number cell, or RowError naming the column."""
  try:
    number = as_int(value)
  except ValueError:
    raise RowError(f"{column} '{value}' is not a frame number") from None
  if number is None:
    raise RowError(f"{column} is blank")
  return number


def parse_aus(value) -> tuple[str, ...]:
  """FACS codes from a cell like '4+7', 'AU4+AU7' or 'R12+L10'."""
  out = []
  for token in re.split(r"[+,;\s]+", text(value)):
    token = token.strip()
    if token:
      out.append(f"AU{token}" if token[0].isdigit() else token)
  return tuple(out)


def check_label(label: str, known: Iterable[str], column: str) -> str:
  """The label in lower case, or RowError when the dataset has no such label."""
  label = label.strip().lower()
  if label not in known:
    raise RowError(f"unknown {column} '{label}' (known: {', '.join(sorted(known))})")
  return label


def make_clip(*, dataset: str, subject: str, clip_id: str, label: str, folder: str,
              pattern: str, onset: int, apex: int | None, offset: int,
              aus: tuple[str, ...] = (), whole: bool = True, source: str = ""):
  """A Clip from annotated frame numbers and a frame folder (RowError if bad)."""
  from merjax.data.records import Clip
  if onset > offset:
    raise RowError(f"onset {onset} after offset {offset}")
  if apex is not None and not onset <= apex <= offset:
    raise RowError(f"apex {apex} outside onset..offset {onset}..{offset}")
  if not os.path.isdir(folder):
    raise RowError(f"clip folder {folder} missing")
  try:
    paths, o, a, f = frame_window(list_frames(folder, pattern), onset, apex, offset, whole)
  except ValueError as e:
    raise RowError(f"{folder}: {e}") from None
  return Clip(dataset=dataset, subject=subject, clip_id=clip_id, label=label,
              frames=paths, onset=o, apex=a, offset=f, action_units=aus, source=source)


# ----------------------------------------------------------------- known-bad rows

def excel_row(where: str) -> int:
  """The Excel row number in a `where` built by clips_from_rows ("file.xlsx row 12")."""
  m = re.search(r" row (\d+)$", where)
  if not m:
    raise ValueError(f"no row number in '{where}'")
  return int(m.group(1))


def fix_text(fix: Mapping[str, int]) -> str:
  """'apex set to 40, offset set to 75' for a known-bad row's correction."""
  return ", ".join(f"{k} set to {v}" for k, v in fix.items())


def clip_with_fixes(where: str, cells: Mapping[str, tuple[str, object]], make: Callable,
                    report: Report, fix: Mapping[str, int] | None = None,
                    fixed_by: str = "MEB's correction", apex_unknown: bool = False):
  """The clip `make(onset=, apex=, offset=)` (frame numbers -> Clip, RowError when
  unusable) gives for one sheet row under the known-bad-row policies.

  cells: "onset" / "apex" / "offset" -> (column name, cell). The numbers as
  written come first. When they give no clip (a cell that is not a number, apex
  outside onset..offset, frame files missing) and `fix` (key -> number) is the
  row's known correction, the corrected numbers are used: reported under `where`
  with action "<key> set to N (<fixed_by>)"; a correction that does not fit
  either is a RowError naming both. Else, with `apex_unknown`, a row whose apex
  alone is unusable gets apex None (reported). Otherwise the row's RowError stands.
  """
  def numbers(override):
    return {k: override[k] if k in override else need_int(v, column)
            for k, (column, v) in cells.items()}

  try:
    return make(**numbers({}))
  except RowError as e:
    error = e
  if fix:
    try:
      clip = make(**numbers(fix))
    except RowError as e:
      raise RowError(f"{error}; the known correction ({fix_text(fix)}) does not fit "
                     f"either: {e}") from None
    report.note(where, str(error), f"{fix_text(fix)} ({fixed_by})")
    return clip
  if apex_unknown:
    try:
      clip = make(**numbers({"apex": None}))
    except RowError:
      raise error from None
    report.note(where, str(error), "apex set to unknown (middle of onset..offset used)")
    return clip
  raise error


def check_unique(clips: list, report: Report, dataset_file: str):
  """Reports (as errors) clips whose dataset/subject/clip key repeats."""
  seen = {}
  for clip in clips:
    if clip.key in seen:
      report.error(clip.source or dataset_file,
                   f"duplicate clip {clip.subject}/{clip.clip_id} (also {seen[clip.key]})")
    else:
      seen[clip.key] = clip.source


# ----------------------------------------------------------------- sheet loaders

@dataclasses.dataclass(frozen=True)
class SheetCopy:
  """What load_sheet_dataset found in one dataset copy, handed to the per-row `clip`."""
  path: str               # the annotation file
  frames_dir: str         # the frames folder
  kind: str | None        # the frames kind (None for a dataset without a `frames` option)
  cols: dict              # column key -> index ({} for a sheet without header)
  report: Report
  prepared: object = None  # what the dataset's `prepare` returned
  options: Mapping = dataclasses.field(default_factory=dict)  # the loader's option values


@dataclasses.dataclass(frozen=True)
class SheetDataset:
  """How one sheet-based dataset is found and read (see load_sheet_dataset).

  name / what: the dataset in option errors ("casme2") and annotation-file
    messages ("CASME II").
  options: the loader's OPTIONS (option -> default): "annotation" always,
    "frames" (a kind of `frames`) and "frames_dir" where the dataset has them.
  patterns / prefer: globs of the annotation file, and the file read when
    several match (sheets.one_annotation).
  frames: frames kind -> names of the frames folder (the kind None when the
    dataset has no `frames` option); subject_dirs: a regex some sub-folder of
    it must match (None: no check); depth: how deep under root it may be.
  no_frames: the error when there is no frames folder, after "<root>: "; its
    {names} and {kind} are filled in.
  sheet / sheet_required: the sheet read (None: the first); when not required,
    the first one stands in for a missing one.
  header_row / columns: the header's Excel row (0: no header) and the wanted
    columns (sheets.header_columns).
  prepare: (annotation path, frames folder) -> what the rows need besides
    their sheet (other sheets, a folder map, a counter): SheetCopy.prepared.
  clip: (row, where, copy) -> the row's Clip, or None for a row a policy
    leaves out; RowError for an unusable row.
  edit_rows: (rows, copy) -> the sheet's rows after a known-bad-rows policy that
    needs more than one row (e.g. two rows' cells swapped); None: as read.
  """
  name: str
  what: str
  options: Mapping
  patterns: Sequence[str]
  frames: Mapping
  no_frames: str
  clip: Callable
  prefer: Sequence[str] = ()
  subject_dirs: str | None = None
  depth: int = 3
  sheet: str | None = None
  sheet_required: bool = True
  header_row: int = 1
  columns: Mapping | None = None
  prepare: Callable | None = None
  edit_rows: Callable | None = None


def load_sheet_dataset(spec: SheetDataset, root: str, protocol: str | None = None, **options):
  """The clips of the copy under `root` (options as the dataset's `load` takes them):
  the annotation sheet's rows through `spec.clip`, kept by `protocol` (None: all)."""
  report = report_of(options)
  opts = take_options(options, spec.options)
  kind = opts.get("frames")
  if kind not in spec.frames:
    kinds = " or ".join(f"'{k}'" for k in spec.frames)
    raise MerjaxError(f"data.options.frames: {spec.name} frames must be {kinds}, got '{kind}'")
  names = spec.frames[kind]
  path = opts["annotation"] or one_annotation(root, spec.patterns, spec.what, spec.prefer, report)
  frames_dir = opts.get("frames_dir") or find_dir(root, names, child=spec.subject_dirs,
                                                  depth=spec.depth)
  if frames_dir is None:
    raise MerjaxError(f"{root}: " + spec.no_frames.format(names=", ".join(names), kind=kind))
  prepared = spec.prepare(path, frames_dir) if spec.prepare else None
  sheet = spec.sheet
  if not spec.sheet_required and sheet not in sheet_names(path):
    sheet = None
  rows = read_sheet(path, sheet)
  cols = header_columns(path, rows, spec.header_row, spec.columns) if spec.header_row else {}
  copy = SheetCopy(path, frames_dir, kind, cols, report, prepared, opts)
  if spec.edit_rows:
    rows = spec.edit_rows(rows, copy)
  clips = clips_from_rows(path, rows, spec.header_row,
                          lambda row, where: spec.clip(row, where, copy), report)
  return filter_protocol(clips, protocol)


def subject_and_name(row: tuple, cols: Mapping, subject_folder: Callable) -> tuple[str, str]:
  """(subject folder, Filename) of a CASME II / SAMM style coding-sheet row: the
  dataset's `subject_folder` of its "subject" cell, and its "filename" cell
  (RowError when blank)."""
  subject = subject_folder(cell(row, cols["subject"]))
  name = text(cell(row, cols["filename"]))
  if not name:
    raise RowError("Filename is blank")
  return subject, name


def coded_clip(row: tuple, where: str, copy: SheetCopy, *, dataset: str,
               labels: Iterable[str], pattern: str, subject: str, name: str,
               onset: int, apex: int | None, offset: int):
  """The Clip of a CASME II / SAMM style coding-sheet row, whose frames are in
  <frames folder>/<subject>/<Filename>: label = its "emotion" cell (one of
  `labels`), action units = its "aus" cell."""
  label = check_label(text(cell(row, copy.cols["emotion"])), labels, "Estimated Emotion")
  return make_clip(dataset=dataset, subject=subject, clip_id=name, label=label,
                   folder=os.path.join(copy.frames_dir, subject, name), pattern=pattern,
                   onset=onset, apex=apex, offset=offset,
                   aus=parse_aus(cell(row, copy.cols["aus"])), source=where)
