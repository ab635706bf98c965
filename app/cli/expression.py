"""``transfigure expression``: the first portrait takes the expression of the second.

One pair (``FIRST SECOND -o OUT``) or many (``--pairs pairs.csv --out-dir DIR``: rows of
``first,second[,output]``, paths relative to the CSV). Pixels outside the blended face
are written back as the first photo's own integers, with its metadata.
"""

from __future__ import annotations

import argparse
import csv
from pathlib import Path

from app.cli.common import check_output, engine_entry, run_request, save_changed, seed
from app.cli.console import EXIT_ERROR, EXIT_OK, error, say


def parse_layers(text: str) -> tuple[int, ...]:
    """``4,5`` or ``3-6`` (1-based style layers, as in the dissertation)."""
    layers: list[int] = []
    try:
        for part in text.split(","):
            if "-" in part:
                low, high = (int(v) for v in part.split("-", 1))
                layers.extend(range(low, high + 1))
            elif part.strip():
                layers.append(int(part))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"--layers wants numbers like 4,5 or 3-6, not {text!r}") from None
    if not layers or any(not 1 <= n <= 18 for n in layers):
        raise argparse.ArgumentTypeError("--layers are numbers from 1 to 18")
    return tuple(sorted(set(layers)))


def strength(text: str) -> float:
    """A per-feature strength, 0 to 1."""
    return _number_in(text, 0.0, 1.0)


def slider(text: str) -> float:
    """A slider setting, -1 to 1."""
    return _number_in(text, -1.0, 1.0)


def _number_in(text: str, low: float, high: float) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"want a number from {low:g} to {high:g}, "
                                         f"not {text!r}") from None
    if not low <= value <= high:
        raise argparse.ArgumentTypeError(f"want a number from {low:g} to {high:g}, "
                                         f"not {value:g}")
    return value


FEATURE_HELP = {
    "mouth": "how much of SECOND's mouth to take, 0-1 (default 1)",
    "eyes": "how much of SECOND's eye openness to take, 0-1 (default 1)",
    "brows": "how much of SECOND's brows to take, 0-1 (default 1)",
    "tilt": "how much of SECOND's head tilt to take, 0-1 (default 0: off)",
}
SLIDER_HELP = {
    "smile": "smile (up to 1) or frown (down to -1), no SECOND needed",
    "mouth_open": "open the mouth (up to 1) or close it (-1)",
    "brow_raise": "raise (up to 1) or lower (-1) the brows",
    "eye_open": "open the eyes wider (up to 1) or close them (-1)",
}


def add_feature_options(parser: argparse.ArgumentParser) -> None:
    """The landmark engine's per-feature strengths and sliders (also used by ``batch``)."""
    group = parser.add_argument_group("feature by feature (landmark engine)")
    for name, text in FEATURE_HELP.items():
        group.add_argument(f"--{name}", type=strength, default=0.0 if name == "tilt" else 1.0,
                           metavar="S", help=text)
    sliders = parser.add_argument_group("sliders (landmark engine)")
    for name, text in SLIDER_HELP.items():
        sliders.add_argument(f"--{name.replace('_', '-')}", dest=name, type=slider,
                             default=0.0, metavar="V", help=text)


def feature_settings(args: argparse.Namespace) -> dict[str, float]:
    """The request fields the options above set."""
    return {name: getattr(args, name) for name in (*FEATURE_HELP, *SLIDER_HELP)}


def add_commands(commands, common: argparse.ArgumentParser) -> None:
    """``expression`` (called by ``app.cli.main.build_parser`` from the operations table)."""
    expression = commands.add_parser(
        "expression", parents=[common],
        help="give the face in one portrait the expression of another",
        description=(
            "The face in FIRST takes the expression of the face in SECOND (the largest "
            "face of each unless --face-first/--face-second pick another). Everything "
            "outside the face is written back unchanged."
        ),
    )
    expression.add_argument("first", metavar="FIRST", nargs="?", help="the portrait to change")
    expression.add_argument("second", metavar="SECOND", nargs="?",
                            help="the portrait with the wanted expression (optional with "
                                 "the sliders)")
    expression.add_argument("--output", "-o", metavar="OUT")
    expression.add_argument("--pairs", metavar="CSV",
                            help="many pairs: rows of first,second[,output]")
    expression.add_argument("--out-dir", metavar="DIR", help="where --pairs results go")
    expression.add_argument("--engine", "-e", metavar="NAME",
                            help="warp (default, offline) or stylegan")
    expression.add_argument("--layers", type=parse_layers, default=(4, 5), metavar="4,5",
                            help="StyleGAN layers taken from SECOND (default 4,5)")
    expression.add_argument("--strength", type=float, default=1.0,
                            help="0 keeps FIRST, 1 takes SECOND's expression (default 1)")
    add_feature_options(expression)
    expression.add_argument("--steps", type=int, default=1000,
                            help="StyleGAN inversion steps per face (default 1000)")
    expression.add_argument("--face-first", type=int, metavar="N",
                            help="which face of FIRST (0 = largest)")
    expression.add_argument("--face-second", type=int, metavar="N",
                            help="which face of SECOND (0 = largest)")
    expression.add_argument("--device", metavar="{auto,cpu,cuda,mps}")
    expression.add_argument("--seed", type=seed, default=0)
    expression.add_argument("--overwrite", action="store_true", help="replace outputs")
    expression.set_defaults(handler=cmd_expression)


def read_pairs(csv_path: Path, out_dir: Path) -> list[tuple[Path, Path, Path]]:
    """(first, second, output) rows; outputs default to ``<first>-as-<second>.png``."""
    from engines.base import InvalidInput

    rows: list[tuple[Path, Path, Path]] = []
    try:
        text = csv_path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InvalidInput(f"Could not find the pairs file {csv_path}.") from None
    except IsADirectoryError:
        raise InvalidInput(f"{csv_path} is a folder; --pairs wants a CSV file.") from None
    except UnicodeDecodeError:
        raise InvalidInput(f"{csv_path.name} is not a text (CSV) file; --pairs wants rows "
                           "of first,second[,output].") from None
    except OSError as exc:
        raise InvalidInput(f"Could not read {csv_path.name}: {exc.strerror or exc}.") from None
    for number, row in enumerate(csv.reader(text.splitlines()), 1):
        cells = [c.strip() for c in row]
        if not cells or not cells[0] or cells[0].startswith("#"):
            continue
        if number == 1 and cells[0].lower() == "first":
            continue  # a header row
        if len(cells) < 2:
            raise InvalidInput(f"{csv_path.name} line {number}: want first,second[,output].")
        first, second = (csv_path.parent / cells[0]), (csv_path.parent / cells[1])
        name = cells[2] if len(cells) > 2 and cells[2] else \
            f"{first.stem}-as-{second.stem}.png"
        rows.append((first, second, out_dir / name))
    if not rows:
        raise InvalidInput(f"{csv_path.name} lists no pairs.")
    return rows


def cmd_expression(args: argparse.Namespace) -> int:
    from engines.base import InvalidInput

    if args.pairs:
        if not args.out_dir:
            raise InvalidInput("--pairs needs --out-dir for the results.")
        out_dir = Path(args.out_dir)
        if not out_dir.is_dir():
            raise InvalidInput(f"The folder {out_dir} does not exist.")
        pairs = read_pairs(Path(args.pairs), out_dir)
    else:
        sliders = any(getattr(args, name) for name in SLIDER_HELP)
        if not (args.first and (args.second or sliders) and args.output):
            raise InvalidInput("Give FIRST SECOND -o OUT, FIRST -o OUT with a slider "
                               "(--smile 0.6 …), or --pairs CSV --out-dir DIR.")
        pairs = [(Path(args.first), Path(args.second) if args.second else None,
                  Path(args.output))]
    entry = engine_entry("expression", args.engine)
    engine = entry.load()()
    failures = 0
    for first, second, output in pairs:
        try:  # Ctrl-C (Cancelled) ends the whole run; app.cli.main says so
            _one_pair(engine, entry.name, args, first, second, output)
        except InvalidInput as exc:
            if len(pairs) == 1:
                raise
            error(f"{first.name} + {second.name if second else '(sliders)'}: {exc.message}")
            failures += 1
    if failures:
        say(f"{len(pairs) - failures} of {len(pairs)} pairs done; the others are listed above.")
        return EXIT_ERROR
    return EXIT_OK


def _one_pair(engine, name: str, args: argparse.Namespace, first: Path, second: Path | None,
              output: Path) -> None:
    from engines import imageio
    from engines.expression import ExpressionRequest

    check_output(output, [first] + ([second] if second else []), args.overwrite)
    photo = imageio.load_image(first)
    other = imageio.load_image(second).pixels if second else None
    request = ExpressionRequest(
        photo.pixels, other, strength=args.strength, face_first=args.face_first,
        face_second=args.face_second, layers=args.layers, steps=args.steps, seed=args.seed,
        device=args.device, **feature_settings(args),
    )
    result, shown = run_request(name, engine, request)
    written = save_changed(photo, result.image, output, args.overwrite,
                           changed=result.blend_mask > 0)
    for note in result.notes:
        say(f"note: {note}")
    if result.warp is not None:
        warp = result.warp
        say(f"warp: {'folds' if warp.folded else 'no fold'} (smallest area ratio "
            f"{warp.min_jacobian:.2f}), skin stretched at most {warp.max_stretch:.2f}×")
    if shown:
        source = f"the expression of {second.name}" if second else "the sliders"
        say(f"{first.name} with {source}: {result.seconds:.1f} s; saved {written}.")
