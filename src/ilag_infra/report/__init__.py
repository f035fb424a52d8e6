"""One static page for the council and the municipal IT leaders: health, backups, drills, costs."""
