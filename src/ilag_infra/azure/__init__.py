"""The Azure side: Pulumi stacks (network, identity, backup), their policies and the offline plan."""
