"""Who is near whom, in a periodic box in any dimension d.

| module | what |
|---|---|
| ``distances`` | minimum-image squared distances, exact (float64) and screened (float32) with a safe margin |
| ``cells`` | the one counting sort by cell, the cell geometry, and ``CellGrid`` (cells that follow moves) |
| ``verlet`` | ``VerletList``: all pairs within 2 R_max + skin, rebuilt by the half-skin rule |
| ``local_verlet`` | ``LocalVerletList``: the rows of the particles that move, refreshed one at a time |

The slow, obviously correct twins that tests compare these against are in
``physics_baseline.reference``.
"""
