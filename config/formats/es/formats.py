"""Spanish as written in the United States (es-US): "28 de noviembre de 2026", "$1,234.50".

Month and day names come from Django's own Spanish catalog; the decimal point and
the thousands comma are es-US's (Django's ``es`` uses "1.234,50", which a reader in
the United States would misread).
"""

DATE_FORMAT = r"j \d\e F \d\e Y"  # 28 de noviembre de 2026
SHORT_DATE_FORMAT = "j b Y"  # 28 nov 2026 (Spanish writes abbreviations in lower case)
DATETIME_FORMAT = r"j \d\e F \d\e Y, H:i"  # 28 de noviembre de 2026, 14:05
SHORT_DATETIME_FORMAT = "j b Y, H:i"  # 28 nov 2026, 14:05
YEAR_MONTH_FORMAT = r"F \d\e Y"  # noviembre de 2026
MONTH_DAY_FORMAT = r"j \d\e F"  # 28 de noviembre
DECIMAL_SEPARATOR = "."
THOUSAND_SEPARATOR = ","
NUMBER_GROUPING = 3
