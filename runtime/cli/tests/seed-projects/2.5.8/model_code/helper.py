"""Well-log helpers shared by the model and its training."""

import math

NULL_VALUE = -999.25  # the filler the logs use for a missing sample


def is_missing(value):
    return value is None or value == NULL_VALUE or (isinstance(value, float) and math.isnan(value))


def features(acs, rdep, den):
    """The regression terms of one sample: 1, ACS, ln(RDEP), DEN."""
    return [1.0, acs, math.log(rdep), den]


def solve(a, b):
    """Solves the square system a·x = b (Gaussian elimination, partial pivoting)."""
    n = len(b)
    a = [row[:] + [b[i]] for i, row in enumerate(a)]
    for col in range(n):
        pivot = max(range(col, n), key=lambda r: abs(a[r][col]))
        if abs(a[pivot][col]) < 1e-12:
            raise ValueError("the system is singular")
        a[col], a[pivot] = a[pivot], a[col]
        for row in range(col + 1, n):
            factor = a[row][col] / a[col][col]
            for k in range(col, n + 1):
                a[row][k] -= factor * a[col][k]
    x = [0.0] * n
    for row in reversed(range(n)):
        x[row] = (a[row][n] - sum(a[row][k] * x[k] for k in range(row + 1, n))) / a[row][row]
    return x
