"""Form fields and helpers the audiences' pages share: GOV.UK dates, bounded numbers, pages."""

from dataclasses import dataclass
from datetime import date

from flask import abort, request
from govuk_frontend_wtf.wtforms_widgets import GovDateInput, GovTextInput
from wtforms import DateField, IntegerField
from wtforms.validators import StopValidation, ValidationError

from tracker.extensions import db

# Far above any real number of places, and inside every database's INTEGER.
MAX_PLACES = 1_000_000
# Far beyond the last page of any list; a larger number would overflow the database's OFFSET.
MAX_PAGE = 100_000


class PlainText:
    """Refuse control characters (a NUL, above all, which PostgreSQL cannot store or compare)."""

    def __init__(self, message: str) -> None:
        self.message = message

    def __call__(self, form, field) -> None:
        value = field.data or ""
        if any(ord(c) < 32 and c not in "\t\n\r" or ord(c) == 127 for c in value):
            raise ValidationError(self.message)


class GovDateField(DateField):
    """A date in three boxes (day, month, year), with GOV.UK's error messages.

    Empty is allowed unless ``required`` gives the message to show when it is empty.
    """

    def __init__(self, label=None, validators=None, *, required: str | None = None, **kwargs):
        super().__init__(label, validators, format="%d %m %Y", widget=GovDateInput(), **kwargs)
        self.required_message = required

    def pre_validate(self, form):
        if self.process_errors:
            raise StopValidation()  # already explained by the error from reading the boxes
        if self.data is None and self.required_message:
            raise StopValidation(self.required_message)

    def process(self, formdata, *args, **kwargs):
        super().process(formdata, *args, **kwargs)
        # The widget shows exactly three boxes: give it three values, or none to show.
        if self.raw_data:
            self.raw_data = ([*self.raw_data, "", "", ""])[:3]
        else:
            self.raw_data = None

    def process_formdata(self, valuelist):
        self.data = None
        parts = [v.strip() for v in valuelist]
        if not any(parts):
            return
        if len(parts) > 3:
            raise ValueError(f"{self.label.text} must be a real date")
        parts = [*parts, "", ""][:3]  # a box left out of the request is an empty box
        if not all(parts):
            missing = [n for n, v in zip(("day", "month", "year"), parts, strict=True) if not v]
            raise ValueError(f"{self.label.text} must include a {' and '.join(missing)}")
        if not all(p.isascii() and p.isdigit() and len(p) <= 4 for p in parts[:2]):
            raise ValueError(f"{self.label.text} must be a real date")
        if not (parts[2].isascii() and parts[2].isdigit() and len(parts[2]) == 4):
            raise ValueError(f"{self.label.text} must be a real date, with a 4-digit year")
        try:
            day = date(int(parts[2]), int(parts[1]), int(parts[0]))
        except ValueError:
            raise ValueError(f"{self.label.text} must be a real date") from None
        if not date(2000, 1, 1) <= day <= date(2100, 12, 31):
            raise ValueError(f"{self.label.text} must be between 2000 and 2100")
        self.data = day


class PlacesField(IntegerField):
    """A whole number of places from ``minimum`` to ``maximum``, with GOV.UK's messages for
    anything else (one field for every form that asks for places)."""

    def __init__(
        self, label=None, validators=None, *, minimum: int = 0, maximum: int = MAX_PLACES, **kwargs
    ):
        super().__init__(label, validators, widget=GovTextInput(), **kwargs)
        self.minimum, self.maximum = minimum, maximum

    def _out_of_range(self) -> str:
        return f"Enter a number of places from {self.minimum:,} to {self.maximum:,}"

    def pre_validate(self, form):
        if self.process_errors:
            raise StopValidation()  # already explained by the error from reading the box
        if self.data is None:
            raise StopValidation("Enter the number of places")
        if not self.minimum <= self.data <= self.maximum:
            raise StopValidation(self._out_of_range())

    def process_formdata(self, valuelist):
        self.data = None
        if not valuelist or not valuelist[0].strip():
            return
        raw = valuelist[0].strip().replace(",", "")
        digits = raw.removeprefix("-")
        if not (digits.isascii() and digits.isdigit()):
            raise ValueError("Enter the number of places as a whole number, like 20")
        if len(digits) > 12:
            raise ValueError(self._out_of_range())
        self.data = int(raw)


def _page_number() -> int:
    raw = request.args.get("page", "1")
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 6 or not 1 <= int(raw) <= MAX_PAGE:
        abort(404)
    return int(raw)


def paginate(query, *, per_page: int):
    """One page of a query's results, the page number taken from ?page=; 404 if there is none."""
    page = db.paginate(query, page=_page_number(), per_page=per_page, error_out=False)
    if page.page > 1 and not page.items:
        abort(404)
    return page


@dataclass
class ListPage:
    """One page of a list already in hand, with what ``layout.pagination_params`` reads."""

    items: list
    page: int
    per_page: int
    total: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages

    @property
    def prev_num(self) -> int:
        return self.page - 1

    @property
    def next_num(self) -> int:
        return self.page + 1

    @property
    def first(self) -> int:
        return (self.page - 1) * self.per_page + 1 if self.items else 0

    @property
    def last(self) -> int:
        return self.first + len(self.items) - 1 if self.items else 0

    def iter_pages(self, *, left_edge=1, left_current=1, right_current=2, right_edge=1):
        """Page numbers to link, None where some are left out (as Flask-SQLAlchemy's)."""
        shown = set(range(1, min(left_edge, self.pages) + 1))
        shown |= set(range(max(1, self.page - left_current), self.page + right_current))
        shown |= set(range(max(1, self.pages - right_edge + 1), self.pages + 1))
        previous = 0
        for number in sorted(n for n in shown if 1 <= n <= self.pages):
            if number - previous > 1:
                yield None
            yield number
            previous = number


def page_of(items: list, *, per_page: int) -> ListPage:
    """One page of ``items``, the page number taken from ?page=; 404 if there is none."""
    number = _page_number()
    start = (number - 1) * per_page
    if number > 1 and start >= len(items):
        abort(404)
    return ListPage(items[start : start + per_page], number, per_page, len(items))
