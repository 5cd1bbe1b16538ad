"""English dates and numbers as Honora writes them: "28 November 2026", "$1,234.50".

Templates name these formats (``date:"DATE_FORMAT"``) instead of spelling a pattern,
so the consultant's language decides (settings.FORMAT_MODULE_PATH).
"""

DATE_FORMAT = "j F Y"  # 28 November 2026
SHORT_DATE_FORMAT = "j M Y"  # 28 Nov 2026
DATETIME_FORMAT = "j F Y, H:i"  # 28 November 2026, 14:05
SHORT_DATETIME_FORMAT = "j M Y, H:i"  # 28 Nov 2026, 14:05
YEAR_MONTH_FORMAT = "F Y"  # November 2026
MONTH_DAY_FORMAT = "j F"  # 28 November
DECIMAL_SEPARATOR = "."
THOUSAND_SEPARATOR = ","
NUMBER_GROUPING = 3
