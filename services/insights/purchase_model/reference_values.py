#!/usr/bin/env python3
"""Reference values of the BG/NBD expected purchases E[Y(t) | x, t_x, T] for
bg_nbd_test.cc, computed with mpmath at 60 digits in two independent ways:
the paper's closed form with mpmath's hyp2f1 (where it is defined: a != 1,
a+b+x-1 != 0) and the defining integral E[(1 - (1 + p t/(alpha+T))^-(r+x))/p]
over p ~ Beta(a, b+x) with mpmath's quad. Prints C++ rows; fails if the two
ways disagree. Run: python3 reference_values.py (needs python3-mpmath).
"""
from mpmath import mp, mpf, hyp2f1, quad, beta, log1p, expm1, log, exp

mp.dps = 60

PUBLISHED = (0.2425945, 4.4136019, 0.7929199, 2.4258881)

CASES = [  # (r, alpha, a, b), x, t_x, T, t
    (PUBLISHED, 2, 30.43, 38.86, 39),      # CDNOW customer 1
    (PUBLISHED, 2, 30.43, 38.86, 4),       # ... for lifetime_value_test.cc
    (PUBLISHED, 2, 30.43, 38.86, 8),
    (PUBLISHED, 2, 30.43, 38.86, 12),
    (PUBLISHED, 0, 0, 0, 1),
    (PUBLISHED, 0, 0, 0, 78),
    (PUBLISHED, 0, 0, 0, 39),              # z = 0.898: the series
    (PUBLISHED, 0, 0, 0, 40.5),            # z = 0.902: the quadrature
    (PUBLISHED, 0, 0, 0, 520),
    (PUBLISHED, 0, 0, 1000, 520),
    (PUBLISHED, 2, 30.43, 38.86, 1e-6),    # a tiny horizon
    (PUBLISHED, 100, 18, 20, 520),         # z = 0.955, x large
    (PUBLISHED, 300, 990, 1000, 520),      # x in the hundreds
    ((0.5, 1.0, 0.8, 2.5), 500, 990, 1000, 520),
    ((0.2425945, 0.01, 0.7929199, 2.4258881), 0, 0, 0, 520),  # z ~ 1 - 2e-5
    ((2.0, 0.05, 3.0, 1.0), 5, 1, 2, 520),                     # z ~ 0.996
    ((0.5, 2.0, 1.0, 2.0), 3, 10, 20, 52),                     # a == 1
    ((0.1, 0.5, 0.5, 0.5), 0, 0, 0, 52),                       # a+b-1 == 0
    ((1.0, 1.0, 20.0, 5.0), 2, 5, 10, 100),                    # a large
    ((5.0, 1.0, 0.3, 0.2), 0, 0, 0, 520),                      # r > a+b
    ((0.5, 0.1, 1.5, 0.7), 1, 0, 0.5, 520),                    # t_x = 0
]


def p_alive(r, alpha, a, b, x, t_x, T):
    if x == 0:
        return mpf(1)
    return 1 / (1 + a / (b + x - 1) * ((alpha + T) / (alpha + t_x)) ** (r + x))


def if_alive_closed_form(r, alpha, a, b, x, T, t):
    z = t / (alpha + T + t)
    c = a + b + x - 1
    return c / (a - 1) * (1 - ((alpha + T) / (alpha + T + t)) ** (r + x)
                          * hyp2f1(r + x, b + x, c, z))


def if_alive_integral(r, alpha, a, b, x, T, t):
    s = t / (alpha + T)
    big_b = b + x

    def g(p, q):  # q = 1 - p, passed exactly near p = 1
        return (p ** (a - 1) * q ** (big_b - 1)
                * -expm1(-(r + x) * log1p(p * s)) / p)

    # The left half in p, the right half in q = 1 - p, so that both ends'
    # singularities are at an exact 0; split where the integrand turns.
    half = mpf(1) / 2
    left = sorted({mpf(0), min(1 / s, half), half})
    return (quad(lambda p: g(p, 1 - p), left) +
            quad(lambda q: g(1 - q, q), [0, half])) / beta(a, big_b)


def main():
    for (params, *summary) in CASES:
        r, alpha, a, b = map(mpf, params)
        x, t_x, T, t = map(mpf, summary)
        if_alive = if_alive_integral(r, alpha, a, b, x, T, t)
        if a != 1 and a + b + x - 1 != 0:
            closed = if_alive_closed_form(r, alpha, a, b, x, T, t)
            assert abs(closed / if_alive - 1) < mpf(10) ** -15, (
                params, x, closed, if_alive)
            if_alive = closed
        value = p_alive(r, alpha, a, b, x, t_x, T) * if_alive
        print("    {{{{{}, {}, {}, {}}}, {}, {}, {}, {}, {}}},".format(
            *params, *summary, mp.nstr(value, 17)))


if __name__ == "__main__":
    main()
