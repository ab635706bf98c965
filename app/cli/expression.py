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
                            help="the portrait with the wanted expression")
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
        if not (args.first and args.second and args.output):
            raise InvalidInput("Give FIRST SECOND -o OUT, or --pairs CSV --out-dir DIR.")
        pairs = [(Path(args.first), Path(args.second), Path(args.output))]
    entry = engine_entry("expression", args.engine)
    engine = entry.load()()
    failures = 0
    for first, second, output in pairs:
        try:  # Ctrl-C (Cancelled) ends the whole run; app.cli.main says so
            _one_pair(engine, entry.name, args, first, second, output)
        except InvalidInput as exc:
            if len(pairs) == 1:
                raise
            error(f"{first.name} + {second.name}: {exc.message}")
            failures += 1
    if failures:
        say(f"{len(pairs) - failures} of {len(pairs)} pairs done; the others are listed above.")
        return EXIT_ERROR
    return EXIT_OK


def _one_pair(engine, name: str, args: argparse.Namespace, first: Path, second: Path,
              output: Path) -> None:
    from engines import imageio
    from engines.expression import ExpressionRequest

    check_output(output, [first, second], args.overwrite)
    photo = imageio.load_image(first)
    other = imageio.load_image(second)
    request = ExpressionRequest(
        photo.pixels, other.pixels, strength=args.strength, face_first=args.face_first,
        face_second=args.face_second, layers=args.layers, steps=args.steps, seed=args.seed,
        device=args.device,
    )
    result, shown = run_request(name, engine, request)
    written = save_changed(photo, result.image, output, args.overwrite,
                           changed=result.blend_mask > 0)
    for note in result.notes:
        say(f"note: {note}")
    if shown:
        say(f"{first.name} with the expression of {second.name}: {result.seconds:.1f} s; "
            f"saved {written}.")
