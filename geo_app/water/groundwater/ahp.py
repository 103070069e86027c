"""Analytic Hierarchy Process: weights from a pairwise comparison matrix, with Saaty's consistency check."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import yaml

from geo_app.errors import InputError

#: Saaty's random consistency index by matrix order (Saaty 1980; n = 1..15).
RANDOM_INDEX = (0.0, 0.0, 0.58, 0.90, 1.12, 1.24, 1.32, 1.41, 1.45, 1.49, 1.51, 1.48, 1.56, 1.57, 1.59)
CR_LIMIT = 0.10


class AhpError(InputError):
    """A pairwise matrix that cannot give weights; the message carries the numbers."""


@dataclass(frozen=True)
class AhpResult:
    factors: tuple[str, ...]
    weights: tuple[float, ...]
    lambda_max: float
    ci: float
    ri: float
    cr: float

    def as_dict(self) -> dict:
        return {
            "factors": list(self.factors),
            "weights": {f: round(w, 6) for f, w in zip(self.factors, self.weights)},
            "lambda_max": round(self.lambda_max, 6), "CI": round(self.ci, 6), "RI": self.ri, "CR": round(self.cr, 6),
        }


def _parse(value) -> float:
    # YAML users write Saaty judgements as "1/3"; accept them as text.
    if isinstance(value, str) and "/" in value:
        num, den = value.split("/", 1)
        return float(num) / float(den)
    return float(value)


def ahp_weights(matrix, factors=None, cr_limit: float = CR_LIMIT, tol: float = 0.02) -> AhpResult:
    """Principal-eigenvector weights of a positive reciprocal matrix; refuses CR ≥ ``cr_limit``.

    Refused with a message: a matrix that is not square, has a zero, negative or non-numeric entry
    (singular: no reciprocal exists), a diagonal other than 1, or a[i][j]·a[j][i] ≠ 1 (within ``tol``).
    """
    try:
        a = np.array([[_parse(v) for v in row] for row in matrix], dtype=float)
    except (TypeError, ValueError) as exc:
        raise AhpError(f"Ma trận AHP có phần tử không phải số / the AHP matrix has a non-numeric entry: {exc}") from None
    n = a.shape[0] if a.ndim == 2 else 0
    if a.ndim != 2 or a.shape[0] != a.shape[1] or n == 0:
        raise AhpError(f"Ma trận AHP phải vuông / the AHP matrix must be square (got shape {a.shape})")
    names = tuple(factors) if factors is not None else tuple(f"f{i + 1}" for i in range(n))
    if len(names) != n:
        raise AhpError(f"Ma trận {n}×{n} nhưng có {len(names)} yếu tố / {n}×{n} matrix for {len(names)} factors")
    if not np.all(np.isfinite(a)) or np.any(a <= 0):
        i, j = np.argwhere(~np.isfinite(a) | (a <= 0))[0]
        raise AhpError(
            f"Ma trận AHP suy biến: phần tử [{names[i]}, {names[j]}] = {a[i, j]} phải > 0 / "
            f"singular AHP matrix: entry [{names[i]}, {names[j]}] = {a[i, j]} must be positive and finite"
        )
    if not np.allclose(np.diag(a), 1.0):
        i = int(np.argmax(np.abs(np.diag(a) - 1)))
        raise AhpError(f"Đường chéo phải bằng 1: [{names[i]}, {names[i]}] = {a[i, i]} / the diagonal must be 1")
    prod = a * a.T
    if np.any(np.abs(prod - 1) > tol):
        i, j = np.unravel_index(int(np.argmax(np.abs(prod - 1))), a.shape)
        raise AhpError(
            f"Ma trận AHP không nghịch đảo: a[{names[i]}, {names[j]}] = {a[i, j]:.4g} nhưng "
            f"a[{names[j]}, {names[i]}] = {a[j, i]:.4g} (phải là {1 / a[i, j]:.4g}) / "
            f"the AHP matrix is not reciprocal"
        )
    values, vectors = np.linalg.eig(a)
    k = int(np.argmax(values.real))
    lam = float(values.real[k])
    w = np.abs(vectors[:, k].real)
    w = w / w.sum()
    ci = (lam - n) / (n - 1) if n > 2 else 0.0
    ci = max(ci, 0.0)  # rounding can make a consistent matrix's λmax a hair below n
    ri = RANDOM_INDEX[n - 1] if n <= len(RANDOM_INDEX) else RANDOM_INDEX[-1]
    cr = ci / ri if ri > 0 else 0.0
    result = AhpResult(names, tuple(float(x) for x in w), lam, ci, ri, cr)
    if cr >= cr_limit:
        raise AhpError(
            f"Hệ số nhất quán CR = {cr:.3f} ≥ {cr_limit:.2f}: ma trận bị từ chối "
            f"(λmax = {lam:.3f}, CI = {ci:.3f}, RI = {ri:.2f}, n = {n}) / consistency ratio CR = {cr:.3f} "
            f"≥ {cr_limit:.2f}: matrix refused; revise the judgements"
        )
    return result


def load_ahp(path: str | Path) -> tuple[AhpResult, dict]:
    """Read an AHP file (``factors`` + ``matrix``, see layers/groundwater/ahp.yaml) and check it."""
    raw = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    if not isinstance(raw, dict) or "factors" not in raw or "matrix" not in raw:
        raise AhpError(f"{path}: cần khóa 'factors' và 'matrix' / needs 'factors' and 'matrix' keys")
    return ahp_weights(raw["matrix"], raw["factors"], float(raw.get("cr_limit", CR_LIMIT))), raw


def renormalise(result: AhpResult, available) -> dict[str, float]:
    """Weights of the factors that are available, rescaled to sum to 1 (the others are dropped)."""
    kept = {f: w for f, w in zip(result.factors, result.weights) if f in set(available)}
    total = sum(kept.values())
    if not kept or total <= 0:
        raise AhpError(
            "Không còn yếu tố nào có dữ liệu / none of the AHP factors has data: "
            f"matrix factors {list(result.factors)}, available {sorted(available)}"
        )
    return {f: w / total for f, w in kept.items()}
