"""Who can do what to each municipality's backups and records, computed offline from the
planned stacks.

facts.py reads what the plans declare (role assignments, custom roles, conditions, storage and
vault settings, locks, site and records SAS); rbac.py matches actions against role definitions
as Azure does; matrix.py computes the capabilities; intended.py compares them with
policy/access.yaml.
"""
