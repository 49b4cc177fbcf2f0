"""A read-mostly record with named slots, the base of the structure and effective-horizon results.

Kept apart so that each result class declares only its fields (``__slots__``) and its ``__repr__``.
"""

from __future__ import annotations

__all__ = ["SlotsRecord"]


class SlotsRecord:
    """Base for result records: ``Cls(**fields)`` sets every name in ``__slots__``.

    Raises
    ------
    TypeError
        When a field is missing or an unknown one is given (a programming error, not user input).
    """

    __slots__ = ()

    def __init__(self, **kw):
        names = self.__slots__
        missing = [k for k in names if k not in kw]
        extra = [k for k in kw if k not in names]
        if missing or extra:
            raise TypeError(f"{type(self).__name__}: missing fields {missing}, unknown fields {extra}")
        for k in names:
            setattr(self, k, kw[k])
