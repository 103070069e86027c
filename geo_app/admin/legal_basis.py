"""The legal basis of each kind of boundary, stored with every layer and production area that uses it."""

COMMUNES_2025 = "Nghị quyết 1673/NQ-UBTVQH15 ngày 16/06/2025 (hiệu lực 01/07/2025)"
PROVINCE_2025 = "Nghị quyết 202/2025/QH15 (hiệu lực 01/07/2025)"
FORMER_UNITS = "Ranh giới trước 01/07/2025 / boundary before 1 July 2025"
