"""Camera models built from ``sensor_msgs/CameraInfo`` fields: project, unproject, (un)distort.

Supported ``distortion_model`` values (the names of sensor_msgs/distortion_models.hpp):
    * ``"plumb_bob"``: OpenCV radial-tangential ``D = (k1, k2, p1, p2, k3)``; an empty ``D`` or all
      zeros is a pinhole camera (``"pinhole"`` is accepted as an alias with ``D`` empty).
    * ``"rational_polynomial"``: OpenCV ``D = (k1, k2, p1, p2, k3, k4, k5, k6)``.
    * ``"equidistant"``: OpenCV fisheye (Kannala-Brandt) ``D = (k1, k2, k3, k4)``.

Pixel convention: OpenCV / ROS, the centre of the top-left pixel is (0, 0); ``u`` is the column.
Points are in the camera optical frame (x right, y down, z forward), metres.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import numpy as np

from vp2p_ros.errors import CameraModelError

__all__ = ["CameraModel", "DISTORTION_MODELS"]

# number of coefficients each model uses; longer D vectors are accepted if the tail is zero
DISTORTION_MODELS = {"pinhole": 0, "plumb_bob": 5, "rational_polynomial": 8, "equidistant": 4}
_MIN_DEPTH = 1e-6  # points closer than this (m, along z) never project for perspective models


@dataclasses.dataclass(frozen=True)
class CameraModel:
    """An intrinsically calibrated camera.

    Attributes:
        width, height: image size in pixels.
        K: (3, 3) intrinsic matrix ``[[fx, s, cx], [0, fy, cy], [0, 0, 1]]``.
        D: distortion coefficients of ``distortion_model`` (zero-padded to its length).
        distortion_model: one of DISTORTION_MODELS.
    """

    width: int
    height: int
    K: np.ndarray
    D: np.ndarray
    distortion_model: str = "plumb_bob"

    def __post_init__(self) -> None:
        K = np.asarray(self.K, dtype=np.float64)
        if K.shape != (3, 3):
            raise CameraModelError(f"K must be 3x3, got shape {K.shape}")
        if not np.all(np.isfinite(K)):
            raise CameraModelError("K has non-finite entries")
        if K[0, 0] <= 0 or K[1, 1] <= 0:
            raise CameraModelError(
                f"K has non-positive focal length (fx={K[0, 0]}, fy={K[1, 1]}); an all-zero K "
                "means the camera is uncalibrated"
            )
        if K[1, 0] != 0 or K[2, 0] != 0 or K[2, 1] != 0 or K[2, 2] != 1:
            raise CameraModelError(f"K must be upper triangular with K[2,2]=1, got {K.tolist()}")
        model = self.distortion_model or "plumb_bob"
        if model not in DISTORTION_MODELS:
            raise CameraModelError(
                f"unsupported distortion_model {model!r}; supported: "
                f"{', '.join(DISTORTION_MODELS)}"
            )
        D = np.asarray(self.D, dtype=np.float64).ravel()
        if not np.all(np.isfinite(D)):
            raise CameraModelError("D has non-finite entries")
        n = DISTORTION_MODELS[model]
        if model == "plumb_bob" and D.size not in (0, 4, 5, 8, 12, 14):
            raise CameraModelError(f"plumb_bob needs 4 or 5 coefficients, got {D.size}")
        if model == "rational_polynomial" and D.size not in (8, 12, 14):
            raise CameraModelError(f"rational_polynomial needs 8 coefficients, got {D.size}")
        if model == "equidistant" and D.size != 4:
            raise CameraModelError(f"equidistant needs 4 coefficients, got {D.size}")
        if model == "pinhole" and np.any(D != 0):
            raise CameraModelError("distortion_model 'pinhole' cannot have non-zero D")
        if D.size > n and np.any(D[n:] != 0):
            raise CameraModelError(
                f"{model} uses {n} coefficients; the extra ones "
                f"{D[n:].tolist()} (thin prism / tilt) are not supported"
            )
        D = np.pad(D[:n], (0, max(0, n - D.size)))
        if int(self.width) <= 0 or int(self.height) <= 0:
            raise CameraModelError(f"image size must be positive, got {self.width}x{self.height}")
        K.setflags(write=False)
        D.setflags(write=False)
        object.__setattr__(self, "K", K)
        object.__setattr__(self, "D", D)
        object.__setattr__(self, "distortion_model", model)
        object.__setattr__(self, "width", int(self.width))
        object.__setattr__(self, "height", int(self.height))

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_camera_info(cls, info: Any) -> CameraModel:
        """Build the model of the published image from a CameraInfo-shaped object.

        Binning and ROI (CameraInfo's sub-sampling fields) are applied to the calibration, so the
        model describes the image that arrives with this CameraInfo.

        Raises:
            CameraModelError: zero / non-finite K, unknown distortion model, bad D length.
        """
        k = np.asarray(info.k, dtype=np.float64)
        if k.size != 9:
            raise CameraModelError(f"CameraInfo.k must have 9 elements, got {k.size}")
        cam = cls(
            int(info.width),
            int(info.height),
            k.reshape(3, 3),
            np.asarray(info.d),
            str(info.distortion_model),
        )
        bx = max(int(getattr(info, "binning_x", 0) or 0), 1)
        by = max(int(getattr(info, "binning_y", 0) or 0), 1)
        roi = getattr(info, "roi", None)
        if roi is not None and int(roi.width) > 0 and int(roi.height) > 0:
            cam = cam.cropped(
                int(roi.x_offset), int(roi.y_offset), int(roi.width), int(roi.height)
            )
        if bx > 1 or by > 1:
            cam = cam.scaled(1.0 / bx, 1.0 / by, width=cam.width // bx, height=cam.height // by)
        return cam

    def to_camera_info_fields(self) -> dict:
        """Return the CameraInfo fields (width, height, distortion_model, d, k, r, p)."""
        P = np.zeros((3, 4))
        P[:, :3] = self.K
        return {
            "width": self.width,
            "height": self.height,
            "distortion_model": self.distortion_model,
            "d": self.D.tolist(),
            "k": self.K.ravel().tolist(),
            "r": np.eye(3).ravel().tolist(),
            "p": P.ravel().tolist(),
        }

    # ------------------------------------------------------------------ intrinsics changes
    def scaled(
        self,
        sx: float,
        sy: float | None = None,
        *,
        width: int | None = None,
        height: int | None = None,
        half_pixel: bool = False,
    ) -> CameraModel:
        """Return the model of the image resized by factors (sx, sy).

        Args:
            sx, sy: scale factors (new / old); sy defaults to sx.
            width, height: new size (default: rounded old size times the factor).
            half_pixel: False scales pixel coordinates (``u' = s u``: ROS image_proc and VP2P);
                True scales pixel areas (``u' = s (u + 0.5) - 0.5``: cv2.resize's sampling).
        """
        sy = sx if sy is None else sy
        K = self.K.copy()
        K[0] *= sx
        K[1] *= sy
        K[2] = (0, 0, 1)
        if half_pixel:
            K[0, 2] += 0.5 * (sx - 1)
            K[1, 2] += 0.5 * (sy - 1)
        w = int(round(self.width * sx)) if width is None else int(width)
        h = int(round(self.height * sy)) if height is None else int(height)
        return dataclasses.replace(self, width=w, height=h, K=K)

    def cropped(self, x0: int, y0: int, width: int, height: int) -> CameraModel:
        """Return the model of the sub-image whose top-left pixel is (x0, y0) in this image."""
        K = self.K.copy()
        K[0, 2] -= x0
        K[1, 2] -= y0
        return dataclasses.replace(self, width=int(width), height=int(height), K=K)

    def for_feature_map(self, stride: int) -> CameraModel:
        """Return the model of a feature map of stride ``stride`` (VP2P: K_4 = K / 4, no shift)."""
        return self.scaled(1.0 / stride, width=self.width // stride, height=self.height // stride)

    @property
    def is_pinhole(self) -> bool:
        """True when the model has no (non-zero) distortion."""
        return not np.any(self.D)

    # ------------------------------------------------------------------ distortion
    def distort(self, xn: np.ndarray) -> np.ndarray:
        """Map undistorted normalised coordinates (N, 2) (``x/z, y/z``) to distorted ones."""
        xn = np.asarray(xn, dtype=np.float64)
        if self.is_pinhole:
            return xn.copy()
        x, y = xn[..., 0], xn[..., 1]
        r2 = x * x + y * y
        d = self.D
        if self.distortion_model == "equidistant":
            r = np.sqrt(r2)
            th = np.arctan(r)
            th_d = _fisheye_poly(th, d)
            s = np.where(r > 1e-12, th_d / np.maximum(r, 1e-12), 1.0)
            return xn * s[..., None]
        k1, k2, p1, p2, k3 = d[:5]
        radial = 1 + r2 * (k1 + r2 * (k2 + r2 * k3))
        if self.distortion_model == "rational_polynomial":
            k4, k5, k6 = d[5:8]
            radial = radial / (1 + r2 * (k4 + r2 * (k5 + r2 * k6)))
        xd = x * radial + 2 * p1 * x * y + p2 * (r2 + 2 * x * x)
        yd = y * radial + p1 * (r2 + 2 * y * y) + 2 * p2 * x * y
        return np.stack([xd, yd], -1)

    def undistort(self, xd: np.ndarray, iterations: int = 30) -> np.ndarray:
        """Invert :meth:`distort` on its monotonic branch; (N, 2) -> (N, 2).

        Damped Gauss-Newton from the distorted point (numerical 2x2 Jacobian, steps limited to a
        quarter of the radius), so it converges to the solution nearest the optical axis.
        Distorted points with no solution inside :meth:`max_valid_radius` come back as NaN.
        """
        xd = np.asarray(xd, dtype=np.float64)
        if self.is_pinhole:
            return xd.copy()
        if self.distortion_model == "equidistant":
            return self._undistort_fisheye(xd, iterations)
        x = xd.copy()
        eps = 1e-7
        for _ in range(iterations):
            f = self.distort(x) - xd
            if np.nanmax(np.abs(f), initial=0.0) < 1e-14:
                break
            jx = (self.distort(x + [eps, 0]) - self.distort(x - [eps, 0])) / (2 * eps)
            jy = (self.distort(x + [0, eps]) - self.distort(x - [0, eps])) / (2 * eps)
            det = jx[..., 0] * jy[..., 1] - jy[..., 0] * jx[..., 1]
            det = np.where(np.abs(det) < 1e-12, 1e-12, det)
            step = np.stack(
                [
                    (jy[..., 1] * f[..., 0] - jy[..., 0] * f[..., 1]) / det,
                    (-jx[..., 1] * f[..., 0] + jx[..., 0] * f[..., 1]) / det,
                ],
                -1,
            )
            limit = 0.25 * np.maximum(np.linalg.norm(x, axis=-1), 0.05)
            norm = np.linalg.norm(step, axis=-1)
            x = x - step * np.minimum(1.0, limit / np.maximum(norm, 1e-300))[..., None]
        bad = (np.linalg.norm(self.distort(x) - xd, axis=-1) > 1e-9) | (
            np.linalg.norm(x, axis=-1) > self.max_valid_radius()
        )
        x[bad] = np.nan
        return x

    def _undistort_fisheye(self, xd: np.ndarray, iterations: int) -> np.ndarray:
        th_d = np.linalg.norm(xd, axis=-1)
        th = th_d.copy()
        k1, k2, k3, k4 = self.D
        for _ in range(iterations):
            f = _fisheye_poly(th, self.D) - th_d
            df = 1 + 3 * k1 * th**2 + 5 * k2 * th**4 + 7 * k3 * th**6 + 9 * k4 * th**8
            th = th - f / np.where(np.abs(df) < 1e-12, 1e-12, df)
        r = np.tan(th)
        s = np.where(th_d > 1e-12, r / np.maximum(th_d, 1e-12), 1.0)
        return xd * s[..., None]

    def max_valid_radius(self) -> float:
        """Largest undistorted normalised radius (or fisheye angle) where distortion is monotonic.

        Beyond it the polynomial folds back and far-off-axis points would land inside the image
        at wrong places; :meth:`project` marks them invalid.
        """
        return _monotonic_limit(self.distortion_model, tuple(self.D))

    # ------------------------------------------------------------------ projection
    def project(
        self, points_cam: np.ndarray, *, in_image: bool = True
    ) -> tuple[np.ndarray, np.ndarray]:
        """Project points in the camera optical frame to pixels.

        Args:
            points_cam: (N, 3) metres, camera optical frame.
            in_image: also require the pixel to fall inside [-0.5, W-0.5) x [-0.5, H-0.5).

        Returns:
            uv: (N, 2) pixel coordinates (NaN where invalid).
            valid: (N,) bool: finite, in front of the camera (z > 0, or inside the fisheye's
                monotonic field of view), within the model's monotonic region, and in the image
                if ``in_image``.
        """
        p = np.asarray(points_cam, dtype=np.float64).reshape(-1, 3)
        finite = np.all(np.isfinite(p), axis=1)
        x, y, z = p[:, 0], p[:, 1], p[:, 2]
        lim = self.max_valid_radius()
        if self.distortion_model == "equidistant":
            r = np.hypot(x, y)
            th = np.arctan2(r, z)
            valid = finite & (th < lim) & (z > _MIN_DEPTH)  # OpenCV fisheye: z > 0 only
            th_d = _fisheye_poly(th, self.D)
            s = np.where(r > 1e-12, th_d / np.maximum(r, 1e-12), 0.0)
            xd = np.stack([x * s, y * s], -1)
        else:
            valid = finite & (z > _MIN_DEPTH)
            zs = np.where(valid, z, 1.0)
            xn = np.stack([x / zs, y / zs], -1)
            valid &= np.hypot(xn[:, 0], xn[:, 1]) < lim
            xd = self.distort(xn)
        K = self.K
        u = K[0, 0] * xd[:, 0] + K[0, 1] * xd[:, 1] + K[0, 2]
        v = K[1, 1] * xd[:, 1] + K[1, 2]
        uv = np.stack([u, v], -1)
        if in_image:
            valid &= self.contains(uv)
        uv[~valid] = np.nan
        return uv, valid

    def contains(self, uv: np.ndarray) -> np.ndarray:
        """(N,) bool: pixel coordinates inside the image (pixel-centre convention)."""
        uv = np.asarray(uv, dtype=np.float64)
        with np.errstate(invalid="ignore"):
            return (
                (uv[..., 0] >= -0.5)
                & (uv[..., 0] < self.width - 0.5)
                & (uv[..., 1] >= -0.5)
                & (uv[..., 1] < self.height - 0.5)
            )

    def unproject(self, uv: np.ndarray, depth: np.ndarray | float | None = None) -> np.ndarray:
        """Back-project pixels (N, 2) to rays with z = 1, or to points at ``depth`` (z, metres)."""
        uv = np.asarray(uv, dtype=np.float64).reshape(-1, 2)
        K = self.K
        yd = (uv[:, 1] - K[1, 2]) / K[1, 1]
        xd = (uv[:, 0] - K[0, 2] - K[0, 1] * yd) / K[0, 0]
        xn = self.undistort(np.stack([xd, yd], -1))
        rays = np.concatenate([xn, np.ones((len(xn), 1))], axis=1)
        if depth is None:
            return rays
        return rays * np.asarray(depth, dtype=np.float64).reshape(-1, 1)


def _fisheye_poly(th: np.ndarray, d) -> np.ndarray:
    t2 = th * th
    return th * (1 + t2 * (d[0] + t2 * (d[1] + t2 * (d[2] + t2 * d[3]))))


_LIMIT_CACHE: dict = {}


def _monotonic_limit(model: str, d: tuple) -> float:
    """First radius (or angle) where the distortion map stops increasing; inf if never."""
    key = (model, d)
    if key in _LIMIT_CACHE:
        return _LIMIT_CACHE[key]
    if model == "equidistant":
        th = np.linspace(0, math.pi, 20001)[1:]
        f = _fisheye_poly(th, d)
        bad = np.nonzero(np.diff(f) <= 0)[0]
        lim = float(th[bad[0]]) if bad.size else math.pi
    elif not any(d):
        lim = math.inf
    else:
        cam = CameraModel(1, 1, np.eye(3), np.asarray(d), model)
        r = np.linspace(0, 20.0, 40001)[1:]  # normalised radius up to ~87 deg off axis
        # radial map along the worst direction is checked along both axes and the diagonal
        lim = math.inf
        for direction in ((1.0, 0.0), (0.0, 1.0), (math.sqrt(0.5), math.sqrt(0.5))):
            pts = r[:, None] * np.asarray(direction)
            rd = np.linalg.norm(cam.distort(pts), axis=1)
            bad = np.nonzero(np.diff(rd) <= 0)[0]
            if bad.size:
                lim = min(lim, float(r[bad[0]]))
    _LIMIT_CACHE[key] = lim
    return lim
