"""Print the table of GEO_APP_* variables for docs/configuration.md from geo_app.settings.VARIABLES."""
from geo_app.settings import VARIABLES

print("| variable | default | read by | meaning |")
print("|---|---|---|---|")
for v in VARIABLES.values():
    default = f"`{v.default}`" if v.default else "(unset)"
    print(f"| `{v.name}` | {default} | {v.used_by} | {v.meaning} |")
