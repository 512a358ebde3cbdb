"""The resources the service announces, and what it tolerates from identity providers.

The schemas announce only what the organization model keeps, so that a client never
writes a value that silently disappears: RFC 7643 lets a service provider support a
subset of the core schemas. Attributes an identity provider sends beyond them (Entra's
`addresses`, `phoneNumbers`, `title`; Okta's `locale`, `password`, `groups`) are dropped
by the `unknown=ignore` policy instead of failing the request.

A User holds one e-mail address (the employee's); a Group's members
are Users only: departments nest through their parent, which the Group extension
(`GROUP_EXTENSION_SCHEMA`) carries, not through membership.
"""

from __future__ import annotations

from typing import Annotated, ClassVar

from pydantic import Field
from scim2_models import (
    URN,
    AnyExtension,
    AuthenticationScheme,
    Bulk,
    CaseExact,
    ChangePassword,
    ComplexAttribute,
    ETag,
    ExtensibleStringEnum,
    Extension,
    External,
    Filter,
    Mutability,
    Pagination,
    Patch,
    Reference,
    Required,
    Resource,
    ResourceType,
    ScimPolicy,
    ScimProvider,
    ServiceProviderConfig,
    Sort,
    Uniqueness,
)

USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Group"
ENTERPRISE_SCHEMA = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
# The service's own extension of the Group: the department tree (docs/scim.md).
GROUP_EXTENSION_SCHEMA = "urn:ietf:params:scim:schemas:extension:perf:2.0:Group"

MAX_RESULTS = 200
DEFAULT_PAGE_SIZE = 100


class Name(ComplexAttribute):
    """The employee's names; an empty name in the organization model is an unassigned one."""

    family_name: str | None = None
    """The family name (`family_name`)."""

    given_name: str | None = None
    """The given name (`given_name`)."""


class Email(ComplexAttribute):
    """The employee's e-mail address (`email`). Only one is kept: the primary one, else
    the work one, else the first one sent."""

    class Type(ExtensibleStringEnum):
        work = "work"
        home = "home"
        other = "other"

    value: str | None = None
    """The address."""

    type: Type | None = None
    """A label for the address, such as work."""

    primary: bool | None = None
    """Kept as sent; true for an employee SCIM never touched."""


class User(Resource[AnyExtension]):
    """An employee of the organization; generic in its extensions like scim2_models' own
    User, so that `User[EnterpriseUser]` is the User with the enterprise extension."""

    __schema__ = URN(USER_SCHEMA)

    user_name: Annotated[str | None, Uniqueness.server, Required.true] = None
    """Unique in the organization; the employee's e-mail address until SCIM sets it."""

    name: Name | None = None
    """The components of the employee's name."""

    Name: ClassVar[type[ComplexAttribute]] = Name

    display_name: str | None = None
    """The name to display, as the identity provider sends it."""

    active: bool | None = None
    """False once the employee is terminated (status `terminated`); true otherwise."""

    emails: list[Email] | None = None
    """The employee's e-mail address."""

    Emails: ClassVar[type[ComplexAttribute]] = Email


class Manager(ComplexAttribute):
    """The employee's manager, another User of the organization."""

    value: Annotated[str | None, CaseExact.true] = None
    """The id of the manager's User."""

    ref: Reference["User"] | None = Field(  # noqa: UP037
        None, serialization_alias="$ref", validation_alias="$ref"
    )
    """The URI of the manager's User."""


class EnterpriseUser(Extension):
    """The enterprise extension of RFC 7643 section 4.3, mapped onto the employee."""

    __schema__ = URN(ENTERPRISE_SCHEMA)

    employee_number: str | None = None
    """The HR key of the employee (`external_id`), shared with HRIS imports."""

    department: str | None = None
    """The name of the employee's department; an unknown name creates the department."""

    manager: Manager | None = None
    """The employee's manager."""


class GroupMember(ComplexAttribute):
    """A User belonging to the department."""

    value: Annotated[str | None, Mutability.immutable, CaseExact.true] = None
    """The id of the member's User."""

    ref: Annotated[Reference["User"] | None, Mutability.immutable] = Field(  # noqa: UP037
        None, serialization_alias="$ref", validation_alias="$ref"
    )
    """The URI of the member's User."""

    type: Annotated[str | None, Mutability.immutable] = Field(None, examples=["User"])
    """Always User."""


class ParentGroup(ComplexAttribute):
    """The Group of the department this department belongs to. Like the enterprise
    `manager`, it has no server-computed `display`: a client reading back what it wrote
    gets exactly that (the parent's name is one GET away)."""

    value: Annotated[str | None, CaseExact.true] = None
    """The id of the parent Group."""

    ref: Reference["Group"] | None = Field(  # noqa: UP037
        None, serialization_alias="$ref", validation_alias="$ref"
    )
    """The URI of the parent Group."""


class DepartmentTree(Extension):
    """The place of the department in the organization's department tree, so that an HRIS
    syncs the tree and not a flat list of Groups."""

    __schema__ = URN(GROUP_EXTENSION_SCHEMA)

    parent: ParentGroup | None = None
    """The parent department's Group; unassigned for a top-level department."""


class Group(Resource[AnyExtension]):
    """A department of the organization; its members are the employees of the department.
    Generic in its extensions, so that `Group[DepartmentTree]` is the Group with its parent."""

    __schema__ = URN(GROUP_SCHEMA)

    display_name: Annotated[str | None, Required.true] = None
    """The department's name."""

    members: list[GroupMember] | None = None
    """The employees of the department."""

    Members: ClassVar[type[ComplexAttribute]] = GroupMember


BEARER = AuthenticationScheme(
    type=AuthenticationScheme.Type.oauthbearertoken,
    name="OAuth Bearer Token",
    description="A JWT with the `scim` scope, from POST /oauth/token (client credentials).",
    spec_uri=Reference[External]("https://datatracker.ietf.org/doc/html/rfc6750"),
    primary=True,
)


def service_provider_config() -> ServiceProviderConfig:
    return ServiceProviderConfig(
        patch=Patch(supported=True),
        bulk=Bulk(supported=False, max_operations=0, max_payload_size=0),
        filter=Filter(supported=True, max_results=MAX_RESULTS),
        change_password=ChangePassword(supported=False),
        sort=Sort(supported=True),
        etag=ETag(supported=True),
        pagination=Pagination(
            cursor=False,
            index=True,
            default_pagination_method=Pagination.DefaultPaginationMethod.index,
            default_page_size=DEFAULT_PAGE_SIZE,
            max_page_size=MAX_RESULTS,
        ),
        authentication_schemes=[BEARER],
    )


# Microsoft Entra's deviations, all accepted without confusing one payload with another:
# a `remove` carrying the members to remove as its value, attributes no schema declares,
# and a filtered PATCH path (`emails[type eq "work"].value`) on an entry not there yet.
# PascalCase names, "Replace" and "False" need no switch. Entra's `manager` sent as a bare
# string is refused by every policy: service.scim.entra rewrites it first.
POLICY = ScimPolicy(
    unknown=ScimPolicy.Unknown.ignore,
    remove_value_as_filter=ScimPolicy.RemoveValue.apply,
    unmatched_path_filter=ScimPolicy.UnmatchedPathFilter.create,
)


def build_provider() -> ScimProvider:
    return ScimProvider(
        models=[User, EnterpriseUser, Group, DepartmentTree],
        resource_types=[
            ResourceType.from_resource(User[EnterpriseUser]),
            ResourceType.from_resource(Group[DepartmentTree]),
        ],
        config=service_provider_config(),
        policy=POLICY,
    )
