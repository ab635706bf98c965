"""Segmenting the object inside a box, on scenes the tests paint themselves."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from engines.base import Cancelled, CancelToken, EngineUnavailable, InvalidInput, Progress
from engines.composite import segment
from engines.composite.request import SegmentRequest
from engines.composite.segment import GrabCutSegmenter, MaskRCNNSegmenter, pick_instance
from tests.unit.conftest import noise_texture

H, W = 240, 320


def star(h: int, w: int, centre: tuple[float, float], radius: float) -> np.ndarray:
    """Anti-aliased coverage (0..1) of a smooth five-pointed star."""
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    dx, dy = xx - centre[0], yy - centre[1]
    edge = radius * (1 + 0.3 * np.cos(5 * np.arctan2(dy, dx)))
    return np.clip(edge - np.hypot(dx, dy) + 0.5, 0, 1)


def object_texture(h: int, w: int) -> np.ndarray:
    """Warm stripes with a little noise: nothing like the grass around them."""
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    stripes = 0.5 + 0.5 * np.sin((xx + 0.6 * yy) / 3)
    base = np.stack([0.75 + 0.2 * stripes, 0.25 + 0.2 * stripes, 0.15 + 0.05 * stripes], -1)
    return np.clip(base + noise_texture(h, w, 9, (0, 0, 0)) * 0.5, 0, 1).astype(np.float32)


def grass(seed: int = 1) -> np.ndarray:
    return noise_texture(H, W, seed, (0.3, 0.55, 0.3))


def scene() -> tuple[np.ndarray, np.ndarray]:
    """A textured star on textured grass, and the star's true mask."""
    alpha = star(H, W, (160, 120), 62)[..., None]
    image = grass() * (1 - alpha) + object_texture(H, W) * alpha
    return image.astype(np.float32), alpha[..., 0] > 0.5


def box_around(mask: np.ndarray, margin: int) -> tuple[int, int, int, int]:
    ys, xs = np.nonzero(mask)
    return (int(xs.min()) - margin, int(ys.min()) - margin,
            int(xs.max() - xs.min()) + 1 + 2 * margin, int(ys.max() - ys.min()) + 1 + 2 * margin)


def iou(a: np.ndarray, b: np.ndarray) -> float:
    return float((a & b).sum() / (a | b).sum())


def inside(box: tuple[int, int, int, int], shape: tuple[int, int] = (H, W)) -> np.ndarray:
    x, y, w, h = box
    region = np.zeros(shape, bool)
    region[max(0, y):y + h, max(0, x):x + w] = True
    return region


# --------------------------------------------------------------------------- GrabCut


def test_loose_box_finds_the_object_and_nothing_outside_the_box():
    image, truth = scene()
    box = box_around(truth, 14)
    result = GrabCutSegmenter().run(SegmentRequest(image, box))
    assert result.mask.dtype == bool and result.mask.shape == (H, W)
    assert iou(result.mask, truth) >= 0.9
    assert not result.mask[~inside(box)].any()
    assert result.seconds > 0


def test_a_tight_box_cuts_the_object_at_the_box():
    image, truth = scene()
    box = box_around(truth, 14)
    x, y, w, h = box
    cut = (x + 30, y, w - 30, h)  # the star's left arm sticks out of the box
    mask = GrabCutSegmenter().run(SegmentRequest(image, cut)).mask
    assert not mask[~inside(cut)].any()
    assert iou(mask, truth & inside(cut)) >= 0.85


def test_same_seed_same_mask():
    image, truth = scene()
    request = SegmentRequest(image, box_around(truth, 14), seed=3)
    first = GrabCutSegmenter().run(request).mask
    assert np.array_equal(first, GrabCutSegmenter().run(request).mask)


def test_drop_strokes_remove_background_that_has_the_objects_colour():
    image, truth = scene()
    # A patch of the object's texture touching the star, inside the box: a colour
    # model cannot tell them apart, the user's strokes can.
    patch = np.zeros((H, W), bool)
    patch[40:80, 185:225] = True
    patch &= ~truth
    image[patch] = object_texture(H, W)[patch]
    box = box_around(truth, 14)
    plain = GrabCutSegmenter().run(SegmentRequest(image, box)).mask
    drop = np.zeros((H, W), bool)
    drop[44:76, 196:221] = True
    drop &= ~truth
    fixed = GrabCutSegmenter().run(SegmentRequest(image, box, drop=drop)).mask
    assert plain[patch].mean() > 0.5  # the hard case is really hard
    assert iou(fixed, truth) > iou(plain, truth) + 0.02
    assert iou(fixed, truth) >= 0.9
    assert not fixed[drop].any()


def test_keep_strokes_bring_back_a_part_with_the_backgrounds_colour():
    image, truth = scene()
    # The star's lower-left arm is camouflaged: grass-coloured, like the background.
    arm = truth.copy()
    arm[:, 135:] = False
    arm[:150] = False
    image[arm] = grass(seed=7)[arm]
    box = box_around(truth, 14)
    plain = GrabCutSegmenter().run(SegmentRequest(image, box)).mask
    keep = np.zeros((H, W), bool)
    keep[arm] = True
    keep = keep & np.roll(keep, 3, 0) & np.roll(keep, -3, 0) & np.roll(keep, 3, 1)  # inner part
    fixed = GrabCutSegmenter().run(SegmentRequest(image, box, keep=keep)).mask
    assert plain[arm].mean() < 0.5
    assert fixed[keep].all()
    assert iou(fixed, truth) > iou(plain, truth) + 0.02


def test_a_box_over_the_whole_photo_uses_its_edges_as_background():
    image, truth = scene()
    mask = GrabCutSegmenter().run(SegmentRequest(image, (0, 0, W, H))).mask
    assert iou(mask, truth) >= 0.85


def test_a_box_past_the_photos_edge_is_clipped():
    image, truth = scene()
    x, y, w, h = box_around(truth, 14)
    mask = GrabCutSegmenter().run(SegmentRequest(image, (x, y, w + 400, h + 400))).mask
    assert iou(mask, truth) >= 0.85


@pytest.mark.parametrize(
    ("box", "words"),
    [
        ((400, 10, 50, 50), "outside the 320×240 photo"),
        ((-80, -80, 40, 40), "outside"),
        ((10, 10, 0, 40), "box is empty"),
        ((10, 10, 40, -5), "box is empty"),
        ((10, 10, 5, 40), "too small"),
        ((316, 10, 40, 40), "too small"),  # only 4 px of it are on the photo
    ],
)
def test_bad_boxes_are_refused_with_a_sentence(box, words):
    image, _ = scene()
    with pytest.raises(InvalidInput) as err:
        GrabCutSegmenter().run(SegmentRequest(image, box))
    assert words in str(err.value)


def test_strokes_of_the_wrong_size_are_refused():
    image, truth = scene()
    with pytest.raises(InvalidInput, match="keep strokes do not match"):
        GrabCutSegmenter().run(
            SegmentRequest(image, box_around(truth, 14), keep=np.zeros((10, 10), bool)))


def test_a_box_around_nothing_says_so():
    image = np.full((H, W, 3), 0.5, np.float32)
    with pytest.raises(InvalidInput) as err:
        GrabCutSegmenter().run(SegmentRequest(image, (100, 60, 120, 100)))
    assert "Nothing inside the box stands out" in str(err.value)
    assert "keep strokes" in str(err.value)


def test_a_whole_photo_box_around_nothing_asks_for_a_tighter_box():
    image = np.full((H, W, 3), 0.5, np.float32)
    with pytest.raises(InvalidInput) as err:
        GrabCutSegmenter().run(SegmentRequest(image, (0, 0, W, H)))
    assert "(nearly) the whole photo" in str(err.value)
    assert "tighter" in str(err.value)


def test_drop_strokes_over_the_whole_box_are_refused():
    image, truth = scene()
    with pytest.raises(InvalidInput, match="drop strokes cover the whole box"):
        GrabCutSegmenter().run(
            SegmentRequest(image, box_around(truth, 14), drop=np.ones((H, W), bool)))


def test_every_iteration_sends_a_preview_of_the_crop():
    image, truth = scene()
    box = box_around(truth, 14)
    seen: list[Progress] = []
    GrabCutSegmenter().run(SegmentRequest(image, box, iterations=3), seen.append)
    # One preview per iteration run (at least two; the cut may settle before the third),
    # then the final one.
    steps = [p.step for p in seen]
    assert steps[:-1] == list(range(1, len(steps))) and len(steps) >= 3 and steps[-1] == 4
    assert all(p.total == 4 for p in seen)
    for p in seen:
        assert p.preview is not None and p.preview.dtype == np.float32
        assert p.preview.ndim == 3 and p.preview.shape[2] == 3
        px, py, pw, ph = p.preview_box
        assert px >= 0 and py >= 0 and px + pw <= W and py + ph <= H
        assert pw * ph >= box[2] * box[3] or p.step == p.total
    last = seen[-1]
    assert last.preview_box == box and last.preview.shape[:2] == (box[3], box[2])
    # The background is dimmed and the object keeps its colours.
    x, y, _, _ = box
    star_pixel = (120 - y, 160 - x)
    assert np.allclose(last.preview[star_pixel], image[120, 160])
    assert last.preview[0, 0].sum() < image[y, x].sum() * 0.5


def test_cancel_stops_between_iterations():
    image, truth = scene()
    token = CancelToken()
    steps: list[int] = []

    def report(progress: Progress) -> None:
        steps.append(progress.step)
        token.cancel()

    with pytest.raises(Cancelled):
        GrabCutSegmenter().run(SegmentRequest(image, box_around(truth, 14)), report, token)
    assert steps == [1]


# ------------------------------------------------------------------------ Mask R-CNN


def test_mask_rcnn_without_weights_says_how_to_get_them(tmp_path, monkeypatch):
    monkeypatch.setenv("TRANSFIGURE_CACHE_DIR", str(tmp_path))
    image, truth = scene()
    with pytest.raises(EngineUnavailable) as err:
        MaskRCNNSegmenter().run(SegmentRequest(image, box_around(truth, 14)))
    assert "not installed" in str(err.value)
    assert "transfigure weights download maskrcnn_resnet50_fpn" in str(err.value)
    assert not any(tmp_path.iterdir())  # nothing was downloaded


def test_the_registered_weights_are_torchvisions_file():
    from engines.store import weights

    entry = weights.entry("maskrcnn_resnet50_fpn")
    assert entry.url.endswith("/maskrcnn_resnet50_fpn_coco-bf2d0c1e.pth")
    assert entry.sha256.startswith("bf2d0c1e")  # torch.hub's file-name convention
    assert entry.format == "torch"


def box_mask(h: int, w: int, x0: int, y0: int, x1: int, y1: int, value: float = 0.9):
    mask = np.zeros((h, w), np.float32)
    mask[y0:y1, x0:x1] = value
    return mask


def test_pick_instance_prefers_the_object_that_fills_the_box_over_a_confident_small_one():
    masks = np.stack([
        box_mask(200, 200, 90, 90, 110, 110),  # a small, very confident thing in the box
        box_mask(200, 200, 42, 38, 158, 162),  # the boxed object
        box_mask(200, 200, 0, 0, 200, 200),  # the table everything stands on
    ])
    scores = np.array([0.99, 0.6, 0.9])
    assert pick_instance(masks, scores, (40, 40, 120, 120)) == 1


def test_pick_instance_ignores_classes_and_answers_none_when_nothing_fits():
    masks = np.stack([box_mask(100, 100, 0, 0, 20, 20), box_mask(100, 100, 60, 60, 100, 100)])
    assert pick_instance(masks, np.array([0.9, 0.9]), (30, 30, 20, 20)) is None
    assert pick_instance(masks[:0], np.array([]), (30, 30, 20, 20)) is None
    soft = box_mask(100, 100, 30, 30, 50, 50, value=0.4)  # below the 0.5 threshold
    assert pick_instance(soft[None], np.array([0.9]), (30, 30, 20, 20)) is None


def test_mask_rcnn_maps_the_chosen_instance_back_onto_the_photo(monkeypatch):
    """The engine's plumbing, with the network replaced by a fixed answer."""
    image, truth = scene()
    box = box_around(truth, 14)
    seen: dict[str, tuple[int, ...]] = {}

    def predict(model, pixels, device):
        seen["crop"] = pixels.shape
        crop = segment.crop_around(SegmentRequest(image, box).box_in_photo(), (H, W))
        star_there = truth[crop.slices].astype(np.float32) * 0.9
        return np.stack([box_mask(*pixels.shape[:2], 0, 0, 5, 5), star_there]), np.array(
            [0.99, 0.8])

    monkeypatch.setattr(segment, "_require_weights", lambda: None)
    monkeypatch.setattr(segment, "_load", lambda device: None)
    monkeypatch.setattr(segment, "_predict", predict)
    progress: list[Progress] = []
    mask = MaskRCNNSegmenter().run(SegmentRequest(image, box, device="cpu"), progress.append).mask
    assert np.array_equal(mask, truth)
    assert seen["crop"][0] < H or seen["crop"][1] < W  # the network sees the box's crop
    assert progress[-1].preview is not None


def test_mask_rcnn_sees_a_large_crop_at_the_networks_size(monkeypatch):
    h, w = 2000, 2400
    image = np.zeros((h, w, 3), np.float32)
    truth = np.zeros((h, w), np.uint8)
    cv2.ellipse(truth, (1200, 1000), (700, 500), 20, 0, 360, 1, -1)
    truth = truth.astype(bool)
    box = (450, 450, 1500, 1100)
    crop = segment.crop_around(SegmentRequest(image, box).box_in_photo(), (h, w))
    sizes = []

    def predict(model, pixels, device):
        sizes.append(pixels.shape[:2])
        there = cv2.resize(truth[crop.slices].astype(np.float32), pixels.shape[1::-1])
        return there[None], np.array([0.9])

    monkeypatch.setattr(segment, "_require_weights", lambda: None)
    monkeypatch.setattr(segment, "_load", lambda device: None)
    monkeypatch.setattr(segment, "_predict", predict)
    mask = MaskRCNNSegmenter().run(SegmentRequest(image, box, device="cpu")).mask
    assert min(sizes[0]) <= 800 and max(sizes[0]) <= 1333
    assert iou(mask, truth & inside(box, (h, w))) >= 0.98
    assert not mask[~inside(box, (h, w))].any()
