"""Segment: find the object inside the user's box, whatever kind of object it is.

Two engines share the checks, the crop and the clean-up here. GrabCut needs nothing
downloaded and learns the object's colours from the box alone; Mask R-CNN knows COCO's
80 kinds of things and picks the instance that best fills the box. Both answer a bool
mask of the whole guide photo that is True only inside the box, because the composite
step pastes the box's content and nothing outside it.

Interactive use sets the budget: the user drags a box and expects to see the cut-out
object within a second. OpenCV's graph cut grows faster than the pixel count (measured
on one core: about 40 ms per iteration at 0.06 MP, 200 ms at 0.25 MP, 600 ms at 1 MP),
so it iterates on a small crop around the box (the cost follows the box, not the
photo) and a guided filter puts the outline back onto the full-resolution edges.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import cv2
import numpy as np

from engines.base import (
    CancelToken,
    Engine,
    EngineError,
    EngineUnavailable,
    InvalidInput,
    Progress,
    Report,
)
from engines.composite.request import Box, SegmentRequest, SegmentResult
from engines.crop import Crop

if TYPE_CHECKING:
    import torch

WORK_PIXELS = 60_000  # crop size the graph cut iterates on (cost grows faster than linearly)
CONVERGED = 0.001  # an iteration that moves less than this share of the crop ends the cut
MARGIN_FRACTION = 0.25  # background ring around the box, as a fraction of its longer side
MIN_MARGIN = 12  # px, so that small boxes still see some background
MIN_BACKGROUND_FRACTION = 0.03  # less background than this (of the crop) gets a border band
BAND_FRACTION = 0.05  # width of that band, as a fraction of the box's shorter side
MIN_OBJECT_FRACTION = 0.002  # a result smaller than this part of the box found nothing
HOLE_FRACTION = 0.05  # enclosed gaps up to this part of the object are filled
GUIDE_EPS = 1e-3  # guided filter regulariser (images in [0, 1]); smaller follows edges closer
DIM = 0.3  # brightness of the background in previews
PREVIEW_PIXELS = 1_000_000  # previews larger than this are subsampled

# A cut-out is doubted when it fills this share of its box, or runs along this many of
# the box's sides (covers RUNS_ALONG of a side's length): the graph cut took background
# too. Chosen on 170 horse2zebra photos (boxes 5 % larger than their masks): 13 GrabCut
# cut-outs doubted, against 2 of the 170 true masks; most bad cuts there take too
# little instead, which no such measure sees.
FILLED_BOX = 0.8
RUNS_ALONG = 0.3
DOUBTED_SIDES = 3

NOTHING_STANDS_OUT = (
    "Nothing inside the box stands out from its surroundings; draw the box tighter or mark "
    "the object with keep strokes."
)


# ------------------------------------------------------------------- shared pieces


def crop_around(box: Crop, shape: tuple[int, int]) -> Crop:
    """The box plus a ring of background on every side, clipped to the photo."""
    margin = max(MIN_MARGIN, round(MARGIN_FRACTION * max(box.x1 - box.x0, box.y1 - box.y0)))
    h, w = shape
    return Crop(max(0, box.x0 - margin), max(0, box.y0 - margin),
                min(w, box.x1 + margin), min(h, box.y1 + margin))


def _strokes(strokes: np.ndarray | None, crop: Crop) -> np.ndarray | None:
    """The part of optional strokes inside ``crop`` (None when there are none there)."""
    if strokes is None:
        return None
    part = np.asarray(strokes[crop.slices], dtype=bool)
    return part if part.any() else None


def clean_mask(
    mask: np.ndarray, keep: np.ndarray | None = None, drop: np.ndarray | None = None
) -> np.ndarray:
    """The object as one piece: the largest blob, blobs the user marked, small gaps closed.

    Segmenters leave specks of object-coloured background and pinholes where the object
    has a background colour; both would show as litter or holes in the pasted object.
    Larger enclosed gaps stay open (the space between an arm and a body, a mug's handle),
    and so does any gap the user marked with a drop stroke.
    """
    mask = np.asarray(mask, dtype=bool)
    if not mask.any():
        return mask
    count, labels, stats, _ = cv2.connectedComponentsWithStats(mask.astype(np.uint8), 8)
    chosen = np.zeros(count, bool)
    chosen[1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))] = True
    if keep is not None:
        chosen[np.unique(labels[keep & mask])] = True
    chosen[0] = False
    mask = chosen[labels]

    count, labels, stats, _ = cv2.connectedComponentsWithStats((~mask).astype(np.uint8), 4)
    h, w = mask.shape
    left, top = stats[:, cv2.CC_STAT_LEFT], stats[:, cv2.CC_STAT_TOP]
    right = left + stats[:, cv2.CC_STAT_WIDTH]
    bottom = top + stats[:, cv2.CC_STAT_HEIGHT]
    enclosed = (left > 0) & (top > 0) & (right < w) & (bottom < h)
    small = stats[:, cv2.CC_STAT_AREA] <= HOLE_FRACTION * mask.sum()
    fill = enclosed & small
    fill[0] = False  # label 0 is the object itself
    if drop is not None:
        fill[np.unique(labels[drop & ~mask])] = False
    return mask | fill[labels]


def _full_mask(shape: tuple[int, int], box: Crop, inside: np.ndarray) -> np.ndarray:
    """The whole photo's mask from the box's part of it."""
    mask = np.zeros(shape, bool)
    mask[box.slices] = inside
    return mask


def _finish(
    request: SegmentRequest, box: Crop, inside: np.ndarray, empty_message: str
) -> np.ndarray:
    """Apply the user's strokes and the clean-up to the box's mask; refuse an empty one."""
    keep, drop = _strokes(request.keep, box), _strokes(request.drop, box)
    inside = inside.copy()
    if keep is not None:
        inside |= keep
    if drop is not None:
        inside &= ~drop
    inside = clean_mask(inside, keep, drop)
    if inside.sum() < max(16, MIN_OBJECT_FRACTION * inside.size):
        raise InvalidInput(empty_message, f"{int(inside.sum())} object pixels in the box")
    return _full_mask(request.image.shape[:2], box, inside)


def cutout_doubt(mask: np.ndarray, box: Crop) -> str:
    """Why a cut-out looks like background as well as the object ("" when it does not).

    A real object leaves its box's corners free and meets each side at a point or
    along a short stretch; a cut that spilled into the background fills the box and
    runs along its sides.
    """
    inside = np.asarray(mask[box.slices], bool)
    if inside.size == 0:
        return ""
    fill = float(inside.mean())
    sides = [inside[0].mean(), inside[-1].mean(), inside[:, 0].mean(), inside[:, -1].mean()]
    along = sum(float(v) >= RUNS_ALONG for v in sides)
    if fill >= FILLED_BOX:
        return (f"The cut-out fills {fill:.0%} of the box, so it probably holds background "
                "as well as the object.")
    if along >= DOUBTED_SIDES:
        return (f"The cut-out runs along {along} sides of the box, so it probably holds "
                "background as well as the object.")
    return ""


def _to_u8(image: np.ndarray) -> np.ndarray:
    return np.clip(np.asarray(image, np.float32) * 255 + 0.5, 0, 255).astype(np.uint8)


def dimmed_preview(pixels: np.ndarray, foreground: np.ndarray) -> np.ndarray:
    """The crop with everything but the object darkened: what would be pasted.

    Large crops are previewed at every n-th pixel (the front end stretches a preview
    over its box): a full-size float copy of a 10-megapixel box costs more than it shows.
    """
    step = max(1, int(np.ceil(np.sqrt(foreground.size / PREVIEW_PIXELS))))
    if step > 1:
        pixels, foreground = pixels[::step, ::step], foreground[::step, ::step]
    pixels = pixels.astype(np.float32) / 255 if pixels.dtype == np.uint8 else pixels
    weight = np.where(foreground, np.float32(1), np.float32(DIM))
    return np.ascontiguousarray(pixels * weight[..., None], dtype=np.float32)


# ------------------------------------------------------------------------- GrabCut


def guided_filter(
    guide: np.ndarray, src: np.ndarray, radius: int, eps: float, subsample: int = 1
) -> np.ndarray:
    """He et al.'s colour guided filter: ``src`` smoothed, but with ``guide``'s edges.

    An upsampled low-resolution mask is blurry exactly where the object's outline is;
    the filter fits it locally as a linear function of the full-resolution colours, so
    thresholding the result follows the photo's real edges (hue edges included).
    With ``subsample`` the fit is computed that many times smaller and only applied at
    full size ("fast guided filter", He & Sun 2015): the fit varies as slowly as the
    blurry mask, and the full-size filter would cost more than all the iterations.
    """
    h, w = src.shape
    guide = np.asarray(guide, np.float32)
    small_guide, small_src = guide, np.asarray(src, np.float32)
    if subsample > 1:
        size = (max(1, w // subsample), max(1, h // subsample))
        # Plain sampling is enough: the fit averages over windows of the small image.
        small_guide = cv2.resize(guide, size, interpolation=cv2.INTER_LINEAR)
        small_src = cv2.resize(small_src, size, interpolation=cv2.INTER_LINEAR)
        radius = max(1, round(radius / subsample))
    coefficients = _guided_fit(small_guide, small_src, radius, eps)
    if subsample > 1:
        coefficients = [cv2.resize(c, (w, h), interpolation=cv2.INTER_LINEAR)
                        for c in coefficients]
    a0, a1, a2, b = coefficients
    return a0 * guide[..., 0] + a1 * guide[..., 1] + a2 * guide[..., 2] + b


def _guided_fit(
    guide: np.ndarray, src: np.ndarray, radius: int, eps: float
) -> list[np.ndarray]:
    """Per-pixel linear coefficients (a0, a1, a2, b), averaged over each window."""
    k = (2 * radius + 1, 2 * radius + 1)

    def mean(a: np.ndarray) -> np.ndarray:
        return cv2.boxFilter(a, cv2.CV_32F, k, borderType=cv2.BORDER_REFLECT)

    g = [np.ascontiguousarray(guide[..., c]) for c in range(3)]
    p = np.ascontiguousarray(src)
    mi = [mean(c) for c in g]
    mp = mean(p)
    cov_p = [mean(g[c] * p) - mi[c] * mp for c in range(3)]
    v = {
        (a, b): mean(g[a] * g[b]) - mi[a] * mi[b] + (eps if a == b else 0.0)
        for a in range(3) for b in range(a, 3)
    }
    # Inverse of the symmetric 3×3 covariance per pixel, by cofactors.
    c00 = v[1, 1] * v[2, 2] - v[1, 2] ** 2
    c01 = v[0, 2] * v[1, 2] - v[0, 1] * v[2, 2]
    c02 = v[0, 1] * v[1, 2] - v[0, 2] * v[1, 1]
    c11 = v[0, 0] * v[2, 2] - v[0, 2] ** 2
    c12 = v[0, 1] * v[0, 2] - v[0, 0] * v[1, 2]
    c22 = v[0, 0] * v[1, 1] - v[0, 1] ** 2
    det = v[0, 0] * c00 + v[0, 1] * c01 + v[0, 2] * c02
    a0 = (c00 * cov_p[0] + c01 * cov_p[1] + c02 * cov_p[2]) / det
    a1 = (c01 * cov_p[0] + c11 * cov_p[1] + c12 * cov_p[2]) / det
    a2 = (c02 * cov_p[0] + c12 * cov_p[1] + c22 * cov_p[2]) / det
    b = mp - a0 * mi[0] - a1 * mi[1] - a2 * mi[2]
    return [mean(a0), mean(a1), mean(a2), mean(b)]


@dataclass
class _Work:
    """The downscaled crop GrabCut iterates on, and where the box lies in it."""

    crop: Crop
    scale: float
    pixels: np.ndarray  # uint8 HxWx3
    labels: np.ndarray  # uint8 GrabCut labels
    inside: Crop  # the box, in work pixels
    band: np.ndarray | None  # where the photo's border stands in for missing background


def _prepare(request: SegmentRequest, box: Crop) -> _Work:
    """Downscale the crop and label it: ring = background, box = probably object, strokes."""
    h, w = request.image.shape[:2]
    crop = crop_around(box, (h, w))
    ch, cw = crop.shape
    scale = min(1.0, float(np.sqrt(WORK_PIXELS / (ch * cw))))
    ws, hs = max(1, round(cw * scale)), max(1, round(ch * scale))
    pixels = np.asarray(request.image[crop.slices], np.float32)
    if scale < 1.0:  # before the conversion, which would otherwise touch every pixel
        pixels = cv2.resize(pixels, (ws, hs), interpolation=cv2.INTER_AREA)
    pixels = _to_u8(pixels)
    sx, sy = ws / cw, hs / ch

    def at(x: int, y: int, up: bool) -> tuple[int, int]:
        fx, fy = (x - crop.x0) * sx, (y - crop.y0) * sy
        if up:
            return min(ws, int(np.ceil(fx))), min(hs, int(np.ceil(fy)))
        return int(fx), int(fy)

    (ix0, iy0), (ix1, iy1) = at(box.x0, box.y0, False), at(box.x1, box.y1, True)
    inside = Crop(ix0, iy0, max(ix1, ix0 + 1), max(iy1, iy0 + 1))
    labels = np.full((hs, ws), cv2.GC_BGD, np.uint8)
    labels[inside.slices] = cv2.GC_PR_FGD

    background = labels.size - (inside.x1 - inside.x0) * (inside.y1 - inside.y0)
    band = None
    if background < MIN_BACKGROUND_FRACTION * labels.size:
        band = _mark_border_band(labels, inside)

    def small(strokes: np.ndarray | None) -> np.ndarray | None:
        part = _strokes(strokes, crop)
        if part is None:
            return None
        if scale < 1.0:  # any touched work pixel counts: thin strokes must not vanish
            part = cv2.resize(part.astype(np.uint8) * 255, (ws, hs),
                              interpolation=cv2.INTER_AREA) > 0
        return part

    drop, keep = small(request.drop), small(request.keep)
    if drop is not None:
        labels[drop] = cv2.GC_BGD
    if keep is not None:
        kept = np.zeros_like(keep)
        kept[inside.slices] = keep[inside.slices]
        labels[kept] = cv2.GC_FGD
    if band is not None:
        band &= labels == cv2.GC_BGD
        if drop is not None:
            band &= ~drop
    return _Work(crop, scale, pixels, labels, inside, band)


def _mark_border_band(labels: np.ndarray, inside: Crop) -> np.ndarray:
    """Let a band along the photo's edges stand in for background the box left no room for.

    GrabCut learns the background's colours from outside the box; a box over the whole
    photo leaves none, and the graph cut cannot even start. Photographers rarely frame
    an object so that it touches every edge, so the band starts as background (the first
    iteration needs a firm example of it) and is only *probably* background afterwards:
    where its colours say object, the graph cut may give it back. Only sides with less
    room than the band around them get one. Returns the band.
    """
    width = max(2, round(BAND_FRACTION * min(inside.x1 - inside.x0, inside.y1 - inside.y0)))
    h, w = labels.shape
    band = np.zeros(labels.shape, bool)
    region = band[inside.slices]
    if inside.x0 < width:
        region[:, :width] = True
    if w - inside.x1 < width:
        region[:, -width:] = True
    if inside.y0 < width:
        region[:width] = True
    if h - inside.y1 < width:
        region[-width:] = True
    band &= labels == cv2.GC_PR_FGD
    labels[band] = cv2.GC_BGD
    return band


def _foreground(labels: np.ndarray) -> np.ndarray:
    return (labels == cv2.GC_FGD) | (labels == cv2.GC_PR_FGD)


def _upsample(work: _Work, image: np.ndarray, box: Crop) -> np.ndarray:
    """The work mask at full resolution over the box, its outline snapped to the photo."""
    fg = _foreground(work.labels).astype(np.float32)
    bx0, by0 = box.x0 - work.crop.x0, box.y0 - work.crop.y0
    bh, bw = box.shape
    if work.scale >= 1.0:
        return fg[by0:by0 + bh, bx0:bx0 + bw] > 0.5
    ch, cw = work.crop.shape
    soft = cv2.resize(fg, (cw, ch), interpolation=cv2.INTER_LINEAR)
    # Filter the box plus the filter's reach, so the outline near the box edge sees
    # its neighbours; the rest of the crop does not matter.
    radius = max(2, int(np.ceil(1.5 / work.scale)))
    py0, px0 = max(0, by0 - radius), max(0, bx0 - radius)
    py1, px1 = min(ch, by0 + bh + radius), min(cw, bx0 + bw + radius)
    guide = image[work.crop.slices][py0:py1, px0:px1]
    subsample = max(1, radius // 2)
    refined = guided_filter(guide, soft[py0:py1, px0:px1], radius, GUIDE_EPS, subsample)
    return refined[by0 - py0:by0 - py0 + bh, bx0 - px0:bx0 - px0 + bw] > 0.5


class GrabCutSegmenter(Engine[SegmentRequest, SegmentResult]):
    """Colour-model graph cut started from the box (Rother et al. 2004); needs no weights."""

    name = "grabcut"
    cpu_only = True

    def compute(
        self, request: SegmentRequest, device: str, report: Report, cancel: CancelToken
    ) -> SegmentResult:
        box = request.box_in_photo()
        work = _prepare(request, box)
        if not (_foreground(work.labels)[work.inside.slices]).any():
            raise InvalidInput("The drop strokes cover the whole box; nothing is left to cut "
                               "out. Erase some of them or draw a new box.")
        total = request.iterations + 1
        cv2.setRNGSeed(int(request.seed))  # GrabCut seeds its colour models by k-means
        bgd, fgd = np.zeros((1, 65), np.float64), np.zeros((1, 65), np.float64)
        try:
            cv2.grabCut(work.pixels, work.labels, None, bgd, fgd, 0, cv2.GC_INIT_WITH_MASK)
            previous = _foreground(work.labels)
            for i in range(request.iterations):
                cancel.raise_if_set()
                cv2.grabCut(work.pixels, work.labels, None, bgd, fgd, 1, cv2.GC_EVAL)
                if i == 0 and work.band is not None:
                    work.labels[work.band] = cv2.GC_PR_BGD
                current = _foreground(work.labels)
                report(Progress(
                    i + 1, total, f"Segmenting: iteration {i + 1} of {request.iterations}",
                    dimmed_preview(work.pixels, current), work.crop.box,
                ))
                if i >= 1 and float((current != previous).mean()) < CONVERGED:
                    break  # the cut has settled: more iterations cost time, change nothing
                previous = current
        except cv2.error as exc:  # too few pixels of one kind for a colour model
            raise InvalidInput(NOTHING_STANDS_OUT, str(exc)) from exc
        cancel.raise_if_set()
        image = np.asarray(request.image)
        inside = _upsample(work, image, box)
        empty = NOTHING_STANDS_OUT
        if work.band is not None:
            empty = (
                "The box fills (nearly) the whole photo, so there was no background around "
                "it to compare with, and nothing stood out from the photo's edges. Draw the "
                "box tighter around the object, or mark the background with drop strokes."
            )
        mask = _finish(request, box, inside, empty)
        report(Progress(total, total, "Segmented",
                        dimmed_preview(image[box.slices], mask[box.slices]), box.box))
        return SegmentResult(mask, doubt=cutout_doubt(mask, box))


# ---------------------------------------------------------------------- Mask R-CNN

WEIGHTS_NAME = "maskrcnn_resnet50_fpn"
NET_SHORT_SIDE, NET_LONG_SIDE = 800, 1333  # torchvision's detection input size
MIN_SCORE = 0.05  # detections below this are noise, whatever their shape
MIN_FIT = 0.3  # an instance whose outline overlaps the box less than this is another object


def _bounding_box(mask: np.ndarray) -> tuple[int, int, int, int] | None:
    """(x0, y0, x1, y1) of a bool mask, exclusive ends; None when empty."""
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    if rows.size == 0:
        return None
    return int(cols[0]), int(rows[0]), int(cols[-1]) + 1, int(rows[-1]) + 1


def pick_instance(
    masks: np.ndarray, scores: np.ndarray, box: Box, threshold: float = 0.5
) -> int | None:
    """The index of the instance the user boxed, or None when none fits the box.

    The user's box is the object's bounding box, so the instance whose own bounding box
    overlaps it most (intersection over union), weighted by the detector's confidence,
    is the one meant. The class does not matter: a box around "the dog" and one around
    "the man holding it" differ in extent, not in label. Comparing boxes rather than
    pixels keeps thin objects (a chair, a bicycle) from losing to a solid one behind.
    """
    x, y, w, h = box
    best, best_value = None, 0.0
    for i, (soft, score) in enumerate(zip(masks, scores, strict=True)):
        if score < MIN_SCORE:
            continue
        bounds = _bounding_box(np.asarray(soft) >= threshold)
        if bounds is None:
            continue
        x0, y0, x1, y1 = bounds
        iw = max(0, min(x1, x + w) - max(x0, x))
        ih = max(0, min(y1, y + h) - max(y0, y))
        inter = iw * ih
        fit = inter / ((x1 - x0) * (y1 - y0) + w * h - inter)
        if fit < MIN_FIT:
            continue
        value = fit * float(score)
        if value > best_value:
            best, best_value = i, value
    return best


def _model(device: str) -> Any:
    """torchvision's Mask R-CNN with the installed COCO weights (see ``_load``)."""
    import torch
    from torchvision.models.detection import maskrcnn_resnet50_fpn

    from engines.store import weights

    model = maskrcnn_resnet50_fpn(weights=None, weights_backbone=None, num_classes=91)
    state = weights.load_state_dict(weights.entry(WEIGHTS_NAME))
    try:
        model.load_state_dict(state)
    except RuntimeError as exc:
        raise EngineError(
            "The Mask R-CNN weights file does not fit torchvision's model; download it "
            f"again with 'transfigure weights download {WEIGHTS_NAME}'.", str(exc),
        ) from exc
    return model.eval().to(torch.device(device))


class MaskRCNNSegmenter(Engine[SegmentRequest, SegmentResult]):
    """torchvision's COCO Mask R-CNN; takes the instance that best fills the box."""

    name = "maskrcnn"

    def compute(
        self, request: SegmentRequest, device: str, report: Report, cancel: CancelToken
    ) -> SegmentResult:
        box = request.box_in_photo()
        _require_weights()
        report(Progress(0, 3, "Loading Mask R-CNN"))
        model = _load(device)
        cancel.raise_if_set()
        crop = crop_around(box, request.image.shape[:2])
        ch, cw = crop.shape
        # The network resizes its input to about 800×1333 anyway; handing it a smaller
        # crop saves the resize and, above all, its full-size masks (N × crop pixels).
        scale = min(1.0, NET_SHORT_SIDE / min(ch, cw), NET_LONG_SIDE / max(ch, cw))
        pixels = np.asarray(request.image[crop.slices], np.float32)
        if scale < 1.0:
            size = (max(1, round(cw * scale)), max(1, round(ch * scale)))
            pixels = cv2.resize(pixels, size, interpolation=cv2.INTER_AREA)
        report(Progress(1, 3, "Finding objects"))
        masks, scores = _predict(model, pixels, device)
        cancel.raise_if_set()
        sy, sx = pixels.shape[0] / ch, pixels.shape[1] / cw
        bx0, by0 = int((box.x0 - crop.x0) * sx), int((box.y0 - crop.y0) * sy)
        bx1 = max(bx0 + 1, int(np.ceil((box.x1 - crop.x0) * sx)))
        by1 = max(by0 + 1, int(np.ceil((box.y1 - crop.y0) * sy)))
        index = pick_instance(masks, scores, (bx0, by0, bx1 - bx0, by1 - by0))
        if index is None:
            raise InvalidInput(
                "Mask R-CNN found no object that fills the box. Draw the box closer around "
                "the object, or use the GrabCut engine, which works for any kind of object.",
                f"{len(scores)} detections in the crop",
            )
        soft = masks[index]
        if scale < 1.0:
            soft = cv2.resize(soft, (cw, ch), interpolation=cv2.INTER_LINEAR)
        x, y = box.x0 - crop.x0, box.y0 - crop.y0
        inside = soft[y:y + box.y1 - box.y0, x:x + box.x1 - box.x0] >= 0.5
        mask = _finish(request, box, inside, NOTHING_STANDS_OUT)
        report(Progress(3, 3, "Segmented",
                        dimmed_preview(np.asarray(request.image)[box.slices], mask[box.slices]),
                        box.box))
        return SegmentResult(mask, doubt=cutout_doubt(mask, box))


def _require_weights() -> None:
    """Never download here: a missing file is reported with the command that fixes it."""
    from engines.store import weights

    entry = weights.entry(WEIGHTS_NAME)
    if not weights.is_installed(entry):
        raise EngineUnavailable(
            f"The Mask R-CNN weights are not installed. Download them "
            f"({entry.size / 1e6:.0f} MB) with 'transfigure weights download {WEIGHTS_NAME}', "
            f"or import a copy with 'transfigure weights import {WEIGHTS_NAME} FILE'.",
            f"expected at {weights.path_for(entry)}",
        )


def _load(device: str) -> Any:
    """The network on ``device``, kept in memory for the next box."""
    from engines import store
    from engines.store.weights import WeightsMissing

    try:
        return store.keep_last("maskrcnn", device, lambda: _model(device))
    except WeightsMissing as exc:  # deleted since the check
        raise EngineUnavailable(exc.message, exc.detail) from exc


def _predict(model: Any, pixels: np.ndarray, device: str) -> tuple[np.ndarray, np.ndarray]:
    """Soft masks (N×H×W in [0, 1]) and scores (N) of the instances found in ``pixels``."""
    import torch

    tensor: torch.Tensor = torch.from_numpy(
        np.ascontiguousarray(np.asarray(pixels, np.float32).transpose(2, 0, 1))
    ).to(device)
    with torch.inference_mode():
        out = model([tensor])[0]
    confident = out["scores"] >= MIN_SCORE
    masks = out["masks"][confident, 0].float().cpu().numpy()
    scores = out["scores"][confident].float().cpu().numpy()
    return masks, scores
