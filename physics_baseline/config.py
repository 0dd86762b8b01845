"""The simulation config: its fields, their defaults, and the one place where they are validated.

Every error is a ``ConfigError`` naming the field and its allowed values, raised before anything
is computed or written.
"""
import dataclasses
from dataclasses import dataclass

from physics_baseline.box import box_length, make_radii
from physics_baseline.dynamics import RULES
from physics_baseline.validate import (
    ConfigError,
    as_choice,
    as_float,
    as_int,
    refuse_unknown_keys,
)

MAX_DIMENSION = 8
ALGORITHMS = ("auto", "full", "active")   # see physics_baseline.stepping
MAX_POOL_BYTES = 4e9     # memory a restart pool may take (size x n x d doubles)
OPTIONAL = {"algorithm": "auto", "restart_pool": 0, "pool_every": 100}  # left out of to_dict at these values
RESUMABLE = ("steps", "checkpoint_every", "algorithm")  # the fields a resumed run may change


@dataclass
class SimulationConfig:
    """One particle run. Lengths (eps, lr, skin) in diameters of the small species; steps in steps.

    restart_pool > 0 makes the run quasi-stationary (``physics_baseline.restart_pool``): it keeps
    that many of its active configurations, stores one every ``pool_every`` steps, and restarts
    from one of them instead of ending when it absorbs.
    """
    dynamics: str = "bro"
    d: int = 3
    n: int = 1000
    phi: float = 0.5
    eps: float | None = None
    lr: float | None = None
    batch_fraction: float | None = None
    batch: str = "selective"
    steps: int = 1000
    seed: int = 0
    record_every: int = 1
    polydispersity: str = "mono"
    size_ratio: float = 1.4
    skin: float | None = None
    checkpoint_every: int = 1000
    algorithm: str = "auto"
    restart_pool: int = 0
    pool_every: int = 100

    @classmethod
    def from_dict(cls, values: dict) -> "SimulationConfig":
        """Build and validate from a mapping; unknown keys are refused by name."""
        refuse_unknown_keys(cls, values)
        return cls(**values).validated()

    def validated(self) -> "SimulationConfig":
        """A copy with every field checked and coerced to its type."""
        rule = RULES[as_choice("dynamics", self.dynamics, RULES)]
        c = dataclasses.replace(
            self,
            d=as_int("d", self.d, 1, MAX_DIMENSION),
            n=as_int("n", self.n, 2),
            phi=as_float("phi", self.phi, 0.0),
            batch=as_choice("batch", self.batch, {"selective", "probabilistic"}),
            steps=as_int("steps", self.steps, 0),
            seed=as_int("seed", self.seed, 0, 2 ** 63 - 1),
            record_every=as_int("record_every", self.record_every, 1),
            polydispersity=as_choice("polydispersity", self.polydispersity, {"mono", "bidisperse"}),
            size_ratio=as_float("size_ratio", self.size_ratio, 1.0, low_open=False),
            skin=None if self.skin is None else as_float("skin", self.skin, 0.0),
            checkpoint_every=as_int("checkpoint_every", self.checkpoint_every, 1),
            algorithm=as_choice("algorithm", self.algorithm, ALGORITHMS),
            restart_pool=as_int("restart_pool", self.restart_pool, 0, 4096),
            pool_every=as_int("pool_every", self.pool_every, 1),
        )
        if c.restart_pool == 0 and c.pool_every != OPTIONAL["pool_every"]:
            raise ConfigError("pool_every", "applies only to quasi-stationary runs; set restart_pool > 0 "
                                            "or leave pool_every unset")
        if c.restart_pool * c.n * c.d * 8 > MAX_POOL_BYTES:
            raise ConfigError("restart_pool", f"{c.restart_pool} stored configurations of n = {c.n} in d = "
                                              f"{c.d} take {c.restart_pool * c.n * c.d * 8 / 1e9:.1f} GB; "
                                              f"allowed up to {MAX_POOL_BYTES / 1e9:g} GB")
        wanted = rule.step_size
        unused = "lr" if wanted == "eps" else "eps"
        if getattr(c, wanted) is None:
            raise ConfigError(wanted, f"dynamics {c.dynamics!r} needs {wanted} > 0 (in diameters)")
        if getattr(c, unused) is not None:
            raise ConfigError(unused, f"dynamics {c.dynamics!r} takes {wanted}, not {unused}; "
                                      f"leave {unused} unset")
        c = dataclasses.replace(c, **{wanted: as_float(wanted, getattr(c, wanted), 0.0)})
        if rule.uses_batch_fraction:
            if c.batch_fraction is None:
                raise ConfigError("batch_fraction", f"dynamics {c.dynamics!r} needs batch_fraction in (0, 1]")
            c.batch_fraction = as_float("batch_fraction", c.batch_fraction, 0.0, 1.0)
        elif c.batch_fraction is not None:
            raise ConfigError("batch_fraction", f"dynamics {c.dynamics!r} takes no batch_fraction; "
                                                "leave it unset (sgd and sme_sgd use it)")
        radii = make_radii(c.n, c.polydispersity, c.size_ratio)
        largest, box = 2 * radii.max(), box_length(radii, c.d, c.phi)
        if box < 2 * largest:
            raise ConfigError("phi", f"the box side {box:.3g} is narrower than 2 diameters of the "
                                     f"largest particle ({2 * largest:.3g}); lower phi or raise n")
        return c

    @property
    def step_size(self) -> float:
        """eps or lr, whichever the dynamics takes (diameters)."""
        return self.eps if RULES[self.dynamics].step_size == "eps" else self.lr

    def to_dict(self) -> dict:
        """The fields as a dict, less those of OPTIONAL at their defaults (``algorithm`` "auto", no
        restart pool): left out, they keep the run keys (config hashes) of runs stored before them."""
        values = dataclasses.asdict(self)
        for name, default in OPTIONAL.items():
            if values[name] == default:
                del values[name]
        return values
