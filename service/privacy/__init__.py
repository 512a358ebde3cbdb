"""A data subject's rights (docs/data-protection.md): the export of everything held about
one person, their erasure (pseudonymization) and the retention that allows it."""
