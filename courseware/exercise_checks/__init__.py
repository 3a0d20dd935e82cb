"""The self-checks of the notebooks' exercises: one module per notebook (``nb04`` for notebook 04).

A notebook imports its module once (``from courseware.exercise_checks import nb04 as exercise``)
and each exercise cell ends with ``exercise.<name>.check()``; ``hint()`` and ``solution()`` help.
See :mod:`courseware.exercises` (notebook 00).
"""
