"""The ``muralstudio`` command: the app by default, and sub-commands for batch work.

Exit status: 0 on success, 2 on bad input (one line on stderr, no traceback), 130 when
interrupted, 1 for an unexpected internal error.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any, Callable, NoReturn, Sequence

from muralstudio import __version__
from muralstudio.core.errors import Cancelled, MuralStudioError

COMMANDS = ("gui", "restore", "detect", "eval", "demo", "export", "train", "finetune")
EXIT_BAD_INPUT = 2
DEFAULT_SHEET = "eval-contact-sheet.png"


class _Parser(argparse.ArgumentParser):
    """argparse that reports usage errors on one line with exit status 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_BAD_INPUT, f"{self.prog}: {message} (see '{self.prog} --help')\n")


def _param(text: str) -> tuple[str, str]:
    if "=" not in text:
        raise argparse.ArgumentTypeError(f"expected NAME=VALUE, got '{text}'")
    name, value = text.split("=", 1)
    return name.strip(), value.strip()


def _engine_list(text: str) -> list[str]:
    """``--engine telea,ns``: engine names, each checked against the registered ones."""
    from muralstudio.engines import engine_names

    names = [n.strip() for n in text.split(",") if n.strip()]
    unknown = [n for n in names if n not in engine_names()]
    if unknown or not names:
        what = f"unknown engine '{unknown[0]}'" if unknown else "no engine named"
        raise argparse.ArgumentTypeError(f"{what} (choose from {', '.join(engine_names())})")
    return names


def build_parser() -> argparse.ArgumentParser:
    from muralstudio.engines import engine_names

    p = _Parser(prog="muralstudio", description="Digital restoration of damaged wall paintings.")
    p.add_argument("--version", action="version", version=f"muralstudio {__version__}")
    sub = p.add_subparsers(dest="command", parser_class=_Parser)

    g = sub.add_parser("gui", help="start the application (the default)")
    g.add_argument("file", nargs="?", type=Path, help="scan or .mural project to open")
    g.add_argument("--masks", type=Path, metavar="DIR",
                   help="mark the damage from DIR/<class>.png (as written by 'muralstudio detect')")
    g.add_argument("--self-test", action="store_true",
                   help="diagnostic: open FILE, run the window a few seconds, check the shipped PConv model, exit")

    r = sub.add_parser("restore", help="restore images from masks with an engine")
    r.add_argument("input", type=Path, help="image file or folder of images")
    r.add_argument("--mask", required=True, type=Path, help="mask file or folder (white = damage)")
    r.add_argument("--engine", default="telea", choices=engine_names(), help="restoration engine")
    r.add_argument("--out", required=True, type=Path, help="output file or folder")
    r.add_argument("--radius", type=int, help="engine neighbourhood radius in pixels")
    r.add_argument("--margin", type=int, help="context margin around each damaged region")
    r.add_argument("--strategy", choices=("crop", "whole"), help="crop around damage or whole image")
    r.add_argument("--param", action="append", type=_param, default=[], metavar="NAME=VALUE",
                   help="any other engine parameter (repeatable)")
    r.add_argument("--hints", type=Path, metavar="FILE.json",
                   help="colorize engine: colour hints for one image, as JSON "
                        "{\"hints\": [{\"x\": X, \"y\": Y, \"colour\": \"#rrggbb\"}]}")
    r.add_argument("--guide", type=Path, metavar="FILE",
                   help="diffusion engine: guide lines for one image, an image the size of the input "
                        "(white = line) that the fill follows")
    r.add_argument("-q", "--quiet", action="store_true", help="no progress bar")

    dt = sub.add_parser("detect", help="mark damage (crack, flaking, loss, stain, fading) with the detector")
    dt.add_argument("input", type=Path, help="image file or folder of images")
    dt.add_argument("--out", required=True, type=Path,
                    help="folder for <class>.png masks (<stem>/ per image of a folder)")
    dt.add_argument("--classes", metavar="C[,C...]", help="damage classes to write (default: all five)")
    dt.add_argument("--threshold", action="append", default=[], metavar="T|CLASS=T",
                    help="probability from which a pixel is damage, for all classes or one (repeatable; default 0.5)")
    dt.add_argument("--probabilities", action="store_true", help="also write <class>-probability.png (255 = certain)")
    dt.add_argument("--weights", default="", help="detector weights file (default: the shipped detector)")
    dt.add_argument("--device", default="auto", help="auto, cpu, cuda or mps")
    dt.add_argument("--precision", default="auto", choices=("auto", "float32", "bfloat16"),
                    help="auto: bfloat16 on a CPU that computes it natively (about 1.6x faster), else float32")
    dt.add_argument("--force", action="store_true", help="replace existing masks")
    dt.add_argument("-q", "--quiet", action="store_true", help="no progress bar")

    e = sub.add_parser("eval", help="score restored images against the truth, or run engines and score them",
                       description="Either score existing results (--gt, --mask, --pred) or run engines on a "
                                   "data set and score each (--engine, --data).")
    e.add_argument("--gt", type=Path, help="folder of undamaged reference images")
    e.add_argument("--mask", type=Path, help="folder of masks (white = restored region)")
    e.add_argument("--pred", type=Path, help="folder of restored images")
    e.add_argument("--engine", action="append", type=_engine_list, default=[], metavar="E[,E...]",
                   help=f"engines to run and score ({', '.join(engine_names())}); repeatable or comma-separated")
    e.add_argument("--data", type=Path, help="with --engine: folder holding gt/, mask/ and optionally masked/")
    e.add_argument("--param", action="append", type=_param, default=[], metavar="NAME=VALUE",
                   help="engine parameter for every engine that takes it, or ENGINE.NAME=VALUE (repeatable)")
    e.add_argument("--sheet", type=Path, metavar="FILE.png",
                   help=f"with --engine: where to write the contact sheet (default: {DEFAULT_SHEET} here)")
    e.add_argument("--no-sheet", action="store_true", help="with --engine: write no contact sheet")
    e.add_argument("--json", action="store_true", help="print one JSON object of the mean metrics")
    e.add_argument("-q", "--quiet", action="store_true", help="no progress bar")

    x = sub.add_parser("export", help="archive a project (or a restored file) as layered files")
    x.add_argument("project", nargs="?", type=Path, help="a .mural project")
    x.add_argument("--format", required=True, choices=("layered-tiff", "multipage-tiff", "ora", "report"))
    x.add_argument("--out", required=True, type=Path, help="file to write (a report: .html or .pdf)")
    x.add_argument("--image", type=Path, help="without a project: the original scan")
    x.add_argument("--mask", type=Path, help="without a project: the mask that was restored")
    x.add_argument("--mask-class", default="loss", help="damage class of --mask (default: loss)")
    x.add_argument("--restored", type=Path, help="without a project: the restored image")
    x.add_argument("--compression", choices=("none", "lzw", "deflate"), help="TIFF compression (default none)")
    x.add_argument("--force", action="store_true", help="replace an existing file")
    x.add_argument("-q", "--quiet", action="store_true", help="no progress bar")

    t = sub.add_parser("train", help="train one of our networks on folders of murals")
    t.add_argument("model", choices=("pconv", "features", "detector", "colorize", "diffusion"), help="which network")
    t.add_argument("--data", required=True, type=Path, nargs="+", help="folders of mural images")
    t.add_argument("--minutes", required=True, type=float, help="wall-clock training time")
    t.add_argument("--out", required=True, type=Path, help="weights file to write (config .json beside it)")
    t.add_argument("--init", type=Path, help="start from these weights")
    t.add_argument("--masks", type=Path, nargs="*", default=[], help="folders of hole masks (white = hole)")
    t.add_argument("--pretrain", type=Path, nargs="*", default=[], help="folders to pre-train on first")
    t.add_argument("--features", type=Path,
                   help="weights whose features the perceptual/style terms compare: a feature network "
                        "('train features') or a damage detector, e.g. models/detector-murals-v2.pt")
    t.add_argument("--cracks", type=Path, help="detector: labelled crack photographs (image/ and mask/)")
    t.add_argument("--drawings", type=Path, nargs="*", default=[],
                   help="diffusion: folders of line drawings, learnt as images guided by their own strokes")
    t.add_argument("--loss", choices=("s0", "s2"), help="loss preset (default s0)")
    t.add_argument("--term", action="append", type=_param, default=[], metavar="NAME=WEIGHT",
                   help="override one loss weight, e.g. perceptual=0 (repeatable)")
    t.add_argument("--batch", type=int, help="patches per step")
    t.add_argument("--patch", type=int, help="patch size in pixels")
    t.add_argument("--lr", type=float, help="learning rate")
    t.add_argument("--ema", type=float, help="diffusion, pconv: decay of the weight average that is validated and "
                                             "saved (0 saves the raw weights; default 0.999 for diffusion, 0 for pconv)")
    t.add_argument("--base", type=int, help="width of the first level")
    t.add_argument("--depth", type=int, help="number of levels")
    t.add_argument("--bf16", action="store_true",
                   help="train in bfloat16 (1.5-1.9x the steps per minute on CPUs that compute it natively; "
                        "validation and the saved weights stay float32); not for features")
    t.add_argument("--device", help="cpu, cuda or mps (default: the best available)")
    t.add_argument("--workers", type=int, help="pconv, diffusion, colorize: processes that make the batches "
                                               "(default 0: the training process makes them; on a GPU, a few "
                                               "keep it busy)")
    t.add_argument("--resume", action="store_true", help="continue from the checkpoint beside --out")
    t.add_argument("--force", action="store_true", help="replace an existing weights file")
    t.add_argument("-q", "--quiet", action="store_true", help="no progress bar")

    f = sub.add_parser("finetune", help="adapt the PConv model to one mural (learns from its intact regions)")
    f.add_argument("model", choices=("pconv",))
    f.add_argument("image", type=Path, help="the mural scan")
    f.add_argument("--mask", type=Path, help="its damage mask (white = damage); damage is never learned from")
    f.add_argument("--minutes", required=True, type=float, help="wall-clock training time")
    f.add_argument("--out", required=True, type=Path, help="weights file to write")
    f.add_argument("--init", type=Path, help="weights to start from (default: the shipped model)")
    f.add_argument("--masks", type=Path, nargs="*", default=[], help="folders of hole masks to train with")
    f.add_argument("--device", help="cpu, cuda or mps (default: the best available)")
    f.add_argument("--force", action="store_true", help="replace an existing weights file")
    f.add_argument("-q", "--quiet", action="store_true", help="no progress bar")

    d = sub.add_parser("demo", help="open the app on the demo mural, or write it with --out")
    d.add_argument("--out", type=Path, help="write the demo mural, masks and truth into this folder instead")
    d.add_argument("--width", type=int, default=2048)
    d.add_argument("--height", type=int, default=1536)
    d.add_argument("--seed", type=int, default=0)
    return p


def _normalise(argv: list[str]) -> list[str]:
    """``muralstudio`` and ``muralstudio FILE`` mean ``muralstudio gui [FILE]``."""
    if not argv or (argv[0] not in COMMANDS and argv[0] not in ("-h", "--help", "--version")):
        return ["gui", *argv]
    return argv


def demo_dir() -> Path:
    """Where ``muralstudio demo`` keeps the demo mural (the user's cache folder)."""
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "muralstudio" / f"demo-{__version__}"


def _pdf_exporter() -> Any:
    """The PDF report writer (Qt renders it), imported only when a PDF is asked for."""
    def export(*a: Any, **kw: Any) -> Any:
        from muralstudio.gui.report_pdf import export_report_pdf

        return export_report_pdf(*a, **kw)

    return export


def _run(args: argparse.Namespace) -> int:
    if args.command == "restore":
        from muralstudio.commands.restore import run_restore

        params = dict(args.param)
        for name in ("radius", "margin", "strategy"):
            if getattr(args, name) is not None:
                params[name] = getattr(args, name)
        run_restore(args.input, args.mask, args.out, args.engine, params, quiet=args.quiet, hints=args.hints,
                    guide=args.guide)
        return 0
    if args.command == "detect":
        from muralstudio.commands.detect import parse_classes, parse_thresholds, run_detect

        run_detect(args.input, args.out, parse_classes(args.classes), parse_thresholds(args.threshold),
                   args.probabilities, args.weights, args.device, args.precision, force=args.force, quiet=args.quiet)
        return 0
    if args.command == "eval":
        from muralstudio.commands.evaluate import check_form, run_engine_eval, run_eval

        engines = [name for group in args.engine for name in group]
        params = dict(args.param)
        if check_form((args.gt, args.mask, args.pred), engines, args.data, params, args.sheet) == "engines":
            sheet = None if args.no_sheet else args.sheet or Path(DEFAULT_SHEET)
            run_engine_eval(args.data, engines, params, args.json, sys.stdout, sheet=sheet, quiet=args.quiet)
        else:
            run_eval(args.gt, args.mask, args.pred, args.json, sys.stdout)
        return 0
    if args.command == "export":
        from muralstudio.commands.export import run_export

        if args.project is not None and (args.image or args.mask or args.restored):
            raise MuralStudioError("Give either a project or --image/--mask/--restored, not both.")
        path = run_export(args.format, args.out, project=args.project, image=args.image, mask=args.mask,
                          restored=args.restored, mask_class=args.mask_class, compression=args.compression,
                          force=args.force, quiet=args.quiet, pdf_exporter=_pdf_exporter())
        print(f"Exported {path}")
        return 0
    if args.command == "train":
        from muralstudio.commands.train import run_train

        options = {k: v for k in ("loss", "batch", "patch", "lr", "ema", "device") if (v := getattr(args, k)) is not None}
        net = {k: v for k in ("base", "depth") if (v := getattr(args, k)) is not None}
        if net and args.model == "pconv":
            options["net"] = {"base": 32, "depth": 6, "max_mult": 8, **net}
        if net and args.model == "detector":
            options["net"] = {"classes": 5, "base": 16, "depth": 5, "max_width": 128, **net}
        if net and args.model == "colorize":
            options["net"] = {"base": 24, "depth": 4, "max_width": 192, **net}
        if net and args.model == "diffusion":
            options["net"] = {"base": 32, "depth": 3, "max_width": 128, "time_dim": 128, **net}
        if args.term:
            try:
                options["loss_weights"] = {name: float(value) for name, value in args.term}
            except ValueError:
                raise MuralStudioError("--term takes NAME=NUMBER, e.g. perceptual=0.") from None
        if args.bf16:
            options["bf16"] = True
        if args.resume:
            options["resume"] = True
        if args.workers is not None:
            options["workers"] = args.workers
        run_train(args.model, args.data, args.out, args.minutes, init=args.init, masks=args.masks,
                  pretrain=args.pretrain, features=args.features, cracks=args.cracks, drawings=args.drawings,
                  options=options, force=args.force, quiet=args.quiet)
        return 0
    if args.command == "finetune":
        from muralstudio.commands.train import run_finetune

        options = {"device": args.device} if args.device else {}
        run_finetune(args.image, args.mask, args.out, args.minutes, init=args.init, masks=args.masks,
                     options=options, force=args.force, quiet=args.quiet)
        return 0
    if args.command == "demo" and args.out is not None:
        from muralstudio.commands.demo import write_demo

        if not (64 <= args.width <= 16384 and 64 <= args.height <= 16384):
            raise MuralStudioError("The demo size must be between 64 and 16384 pixels a side.")
        path = write_demo(args.out, args.width, args.height, args.seed)
        print(f"Demo mural written to {path} (masks in {args.out / 'masks'}, truth in {args.out / 'gt'}).")
        return 0
    from muralstudio.gui.launch import launch

    if args.command == "demo":
        from muralstudio.commands.demo import write_demo

        folder = demo_dir()
        if not (folder / "mural.tif").exists():
            print(f"Making the demo mural in {folder} ...", file=sys.stderr)
            write_demo(folder)
        return launch(folder / "mural.tif", folder / "masks")
    if args.masks is not None and (args.file is None or not args.masks.is_dir()):
        raise MuralStudioError("--masks needs a scan to open and an existing folder of <class>.png masks.")
    if args.self_test:
        from muralstudio.gui.selftest import run_self_test

        if args.file is None:
            raise MuralStudioError("--self-test needs a scan or project to open.")
        return run_self_test(args.file, args.masks)
    return launch(args.file, args.masks)


def report_errors(run: Callable[[], int], prog: str = "muralstudio") -> int:
    """``run()``'s exit status, with the project's errors, memory exhaustion and Ctrl+C told
    in one line on stderr instead of a traceback; for this command and the benchmark scripts
    (``prog`` may be a script's path: its file name prefixes the message)."""
    prog = os.path.basename(prog)
    try:
        return run()
    except MuralStudioError as exc:
        if isinstance(exc, Cancelled):
            print(f"{prog}: cancelled", file=sys.stderr)
            return 130
        message = " ".join(str(exc).split()) or type(exc).__name__
        print(f"{prog}: error: {message}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except MemoryError:
        print(f"{prog}: error: not enough memory for this image on this machine.", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print(f"\n{prog}: interrupted", file=sys.stderr)
        return 130


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(_normalise(list(sys.argv[1:] if argv is None else argv)))
    return report_errors(lambda: _run(args))
