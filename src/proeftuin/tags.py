"""The MLflow tags and the alias Proeftuin sets: one list, read by tracking, the sign-on layer and the portal."""

#: On experiments and registered models: who owns them and which organisations may write (the sign-on layer
#: refuses a change of these two by anyone else).
TAG_OWNER = "proeftuin.owner"
TAG_ORGS = "proeftuin.organisations"
#: On runs: who made it, from which organisation.
TAG_ORG = "proeftuin.organisation"
TAG_USER = "proeftuin.user"
TAG_TEMPLATE = "proeftuin.template"
TAG_COMMIT = "proeftuin.git_commit"
TAG_DATA_HASH = "proeftuin.data_hash"
TAG_KIND = "proeftuin.kind"  # "model" or "baseline"
TAG_PILOT = "proeftuin.pilot"
TAG_THEME = "proeftuin.theme"
TAG_CHAMPION_VERSION = "proeftuin.champion_version"
#: On experiments: the pilot's lifecycle stage, and `proeftuin.stage.<n>` each step of it (JSON: who, when, why,
#: evidence), set by `proeftuin promote`.
TAG_STAGE = "proeftuin.stage"
PROTECTED_TAGS = frozenset({TAG_OWNER, TAG_ORGS})
#: The registered model version that serves a pilot (`models:/<pilot>@champion`).
CHAMPION_ALIAS = "champion"
