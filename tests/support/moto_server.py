"""The local AWS for s3ward's integration tests: moto's server, plus a strictness layer.

Run as `.venv/bin/python tests/support/moto_server.py`. The server binds a free loopback
port, prints exactly one line `PORT <n>` on stdout, and serves until its stdin reaches EOF,
so it dies with the test process that spawned it (which holds the other end of the pipe).

moto accepts some requests that AWS rejects. The WSGI middleware below (`Strict`) rejects
them the way AWS does, by looking at moto's in-memory backends before moto sees the request:

1. PutBucketOwnershipControls(BucketOwnerEnforced) while the bucket ACL grants anything
   to anyone but the owner (and CreateBucket asking for both at once)
   -> 400 InvalidBucketAclWithObjectOwnership.
2. Under BucketOwnerEnforced, PutBucketAcl / PutObjectAcl / PutObject / CopyObject /
   CreateMultipartUpload carrying an ACL other than owner-full-control only
   -> 400 AccessControlListNotSupported.
3. PutBucketPolicy with a public policy while the bucket's BlockPublicPolicy is on
   -> 403 AccessDenied.
4. PutBucketPolicy, IAM CreateRole and UpdateAssumeRolePolicy naming an IAM role or user
   ARN that does not exist, or that was created less than S3WARD_TEST_PRINCIPAL_DELAY
   seconds ago (default 2.0; IAM's eventual consistency; a request may set its own with the
   header `x-s3ward-principal-delay`) -> 400 MalformedPolicy (S3) /
   MalformedPolicyDocument (IAM).

5. KMS PutKeyPolicy that KMS refuses: a policy over 32 KB (32,768 bytes) ->
   LimitExceededException; a role or user principal that does not exist (or is too new, as
   in 4) -> MalformedPolicyDocumentException; and, unless BypassPolicyLockoutSafetyCheck,
   a policy that would not let the caller call kms:PutKeyPolicy again (KMS's lockout
   safety check: an Allow without conditions naming `*`, the caller's account, its role
   or its session, for `kms:PutKeyPolicy`, `kms:*` or `*`) ->
   MalformedPolicyDocumentException.

It does not validate anything else (policy grammar, cross-account permissions); those
remain as lenient as moto is.

Test hooks live under `/_s3ward/` (a path no AWS client uses), JSON in and out:
- `GET /_s3ward/health` -> 200 once the server serves.
- `POST /_s3ward/object-owner {"bucket","key","owner_id","display_name"}` makes the
  object's owner another canonical user (moto gives every account the same canonical id),
  as if another account had uploaded it without bucket-owner-full-control. GetObjectAcl and
  ListObjects(V2)/ListObjectVersions owners show it; BucketOwnerEnforced takes ownership
  back, as on AWS.
"""

import os

# Must be set before moto is imported: AWS managed policies exist on AWS, so attaching
# arn:aws:iam::aws:policy/... must work in tests too.
os.environ["MOTO_IAM_LOAD_MANAGED_POLICIES"] = "true"

import io  # noqa: E402
import json  # noqa: E402
import logging  # noqa: E402
import re  # noqa: E402
import secrets  # noqa: E402
import sys  # noqa: E402
import threading  # noqa: E402
from urllib.parse import parse_qs, unquote  # noqa: E402
from xml.etree import ElementTree  # noqa: E402
from xml.sax.saxutils import escape, unescape  # noqa: E402

from werkzeug.serving import make_server  # noqa: E402

from moto.core.utils import utcnow  # noqa: E402
from moto.iam.models import get_account_id_from, iam_backends  # noqa: E402
from moto.moto_server.werkzeug_app import (  # noqa: E402
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from moto.s3.models import (  # noqa: E402
    OWNER,
    FakeAcl,
    FakeGrant,
    FakeGrantee,
    get_canned_acl,
    s3_backends,
)
from moto.s3.responses import S3Response  # noqa: E402
from moto.sts.models import sts_backends  # noqa: E402

PARTITION = "aws"
PRINCIPAL_DELAY = float(os.environ.get("S3WARD_TEST_PRINCIPAL_DELAY", "2.0"))
IAM_NS = "https://iam.amazonaws.com/doc/2010-05-08/"
STS_NS = "https://sts.amazonaws.com/doc/2011-06-15/"
S3_NS = "http://s3.amazonaws.com/doc/2006-03-01/"
# Canned ACLs that grant nothing beyond the owner's full control.
OWNER_ONLY_CANNED = {"private", "bucket-owner-full-control"}
CREDENTIAL_SCOPE = re.compile(r"Credential=([^/,\s]+)/\d{8}/([^/]+)/([^/]+)/aws4_request")
IAM_IDENTITY_ARN = re.compile(r"^arn:(aws[a-z-]*):iam::(\d{12}):(role|user)/(.+)$")
ACCOUNT_ID = re.compile(r"^\d{12}$")
OWNER_ID = re.compile(r"^[0-9a-f]{64}$")


# --- moto's state -----------------------------------------------------------------------


def find_bucket(name):
    """The bucket called `name` in whichever account holds it, or None."""
    located = s3_backends.bucket_accounts.get(name)
    if located is None:
        return None
    partition, account_id = located
    # dict.get, not [], so that looking never creates a backend.
    account = dict.get(s3_backends, account_id)
    backend = dict.get(account, partition) if account is not None else None
    return backend.buckets.get(name) if backend is not None else None


def iam_identity(arn):
    """The moto role or user whose ARN is `arn`, or None."""
    m = IAM_IDENTITY_ARN.match(arn)
    if m is None:
        return None
    account = dict.get(iam_backends, m.group(2))
    backend = dict.get(account, PARTITION) if account is not None else None
    if backend is None:
        return None
    entities = backend.roles.values() if m.group(3) == "role" else backend.users.values()
    for entity in list(entities):
        if entity.arn == arn:
            return entity
    return None


def account_of(environ, access_key):
    """The account a request acts in, derived the way moto does (see
    moto.core.responses.BaseResponse.get_current_account); assumed-role keys map to the
    role's account because moto registers them in that account's IAM backend."""
    if "MOTO_ACCOUNT_ID" in os.environ:
        return os.environ["MOTO_ACCOUNT_ID"]
    if environ.get("HTTP_X_MOTO_ACCOUNT_ID"):
        return environ["HTTP_X_MOTO_ACCOUNT_ID"]
    return get_account_id_from(access_key or "AKIAEXAMPLE")


def caller_arn(account_id, access_key):
    account = dict.get(sts_backends, account_id)
    backend = dict.get(account, PARTITION) if account is not None else None
    if backend is not None and access_key:
        role = backend.get_assumed_role_from_access_key(access_key)
        if role is not None:
            return role.arn
    return f"arn:aws:iam::{account_id}:user/moto"


def grants_only_owner(acl):
    if acl is None:
        return True
    for grant in acl.grants:
        for grantee in grant.grantees:
            if grantee.uri or grantee.id != OWNER:
                return False
    return True


def ownership_of(bucket):
    rule = bucket.ownership_rule
    # moto stores the bare string; tolerate the dict shape some versions used.
    if isinstance(rule, dict):
        rule = rule.get("ObjectOwnership")
    return rule


# --- Parsing requests --------------------------------------------------------------------


def read_body(environ):
    """Reads the request body once and puts it back, so that moto still gets it."""
    stream = environ.get("wsgi.input")
    length = environ.get("CONTENT_LENGTH")
    if stream is None:
        body = b""
    elif length:
        body = stream.read(int(length))
    elif environ.get("wsgi.input_terminated"):
        body = stream.read()
    else:
        body = b""
    environ["wsgi.input"] = io.BytesIO(body)
    environ["CONTENT_LENGTH"] = str(len(body))
    return body


def local_name(tag):
    return tag.rsplit("}", 1)[-1]


def xml_find_all(root, name):
    return [el for el in root.iter() if local_name(el.tag) == name]


def xml_text(el, name):
    for child in el.iter():
        if local_name(child.tag) == name:
            return (child.text or "").strip()
    return ""


def acl_headers_problem(environ):
    """None when the request's ACL headers grant only the owner (or are absent)."""
    canned = environ.get("HTTP_X_AMZ_ACL")
    if canned is not None and canned.strip() not in OWNER_ONLY_CANNED:
        return f"x-amz-acl: {canned}"
    for key, value in environ.items():
        if not key.startswith("HTTP_X_AMZ_GRANT_"):
            continue
        permission = key[len("HTTP_X_AMZ_GRANT_") :]
        grantees = [g.strip() for g in value.split(",") if g.strip()]
        for grantee in grantees:
            kind, _, ident = grantee.partition("=")
            ident = ident.strip().strip('"')
            if permission != "FULL_CONTROL" or kind.strip().lower() != "id" or ident != OWNER:
                return f"x-amz-grant-{permission.lower().replace('_', '-')}: {value}"
    return None


def acl_body_problem(body):
    """None when an AccessControlPolicy body grants only the owner full control."""
    if not body.strip():
        return None
    try:
        root = ElementTree.fromstring(body)
    except ElementTree.ParseError:
        return None  # moto answers MalformedACLError itself
    for grant in xml_find_all(root, "Grant"):
        ident = xml_text(grant, "ID")
        uri = xml_text(grant, "URI")
        email = xml_text(grant, "EmailAddress")
        permission = xml_text(grant, "Permission")
        if uri or email or ident != OWNER or permission != "FULL_CONTROL":
            return f"grant {permission} to {uri or email or ident}"
    return None


def statements(policy):
    stmts = policy.get("Statement", []) if isinstance(policy, dict) else []
    if isinstance(stmts, dict):
        stmts = [stmts]
    return [s for s in stmts if isinstance(s, dict)]


def as_list(value):
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def aws_principals(stmt):
    """The values that name AWS identities in Principal and NotPrincipal."""
    for key in ("Principal", "NotPrincipal"):
        principal = stmt.get(key)
        if isinstance(principal, str):
            yield principal
        elif isinstance(principal, dict):
            for value in as_list(principal.get("AWS")):
                if isinstance(value, str):
                    yield value


def is_public(policy):
    for stmt in statements(policy):
        if stmt.get("Effect") != "Allow" or stmt.get("Condition"):
            continue
        principal = stmt.get("Principal")
        if principal == "*":
            return True
        if isinstance(principal, dict) and "*" in as_list(principal.get("AWS")):
            return True
    return False


def principal_delay(environ):
    """The propagation delay for this request: the server's, or the test's own from the
    `x-s3ward-principal-delay` header (seconds), so that a test can make "too fresh"
    deterministic without depending on how fast the machine is."""
    try:
        return float(environ["HTTP_X_S3WARD_PRINCIPAL_DELAY"])
    except (KeyError, ValueError):
        return PRINCIPAL_DELAY


def invalid_principal(policy, delay):
    """The first role/user ARN in the policy that IAM would not accept yet, or None.

    Account roots, bare account ids, `*`, service principals and STS assumed-role ARNs are
    always accepted (AWS does not resolve them when a policy is saved)."""
    now = utcnow()
    for stmt in statements(policy):
        for value in aws_principals(stmt):
            if not IAM_IDENTITY_ARN.match(value):
                continue
            entity = iam_identity(value)
            if entity is None:
                return value
            if (now - entity.create_date).total_seconds() < delay:
                return value
    return None


# --- Responses ---------------------------------------------------------------------------


def request_id():
    return secrets.token_hex(8).upper()


def s3_error(start_response, status, code, message, bucket=None):
    rid = request_id()
    extra = f"<BucketName>{escape(bucket)}</BucketName>" if bucket else ""
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<Error><Code>{code}</Code><Message>{escape(message)}</Message>{extra}"
        f"<RequestId>{rid}</RequestId><HostId>{secrets.token_urlsafe(32)}</HostId></Error>"
    ).encode()
    start_response(
        status,
        [
            ("Content-Type", "application/xml"),
            ("Content-Length", str(len(body))),
            ("x-amz-request-id", rid),
        ],
    )
    return [body]


def query_error(start_response, namespace, code, message):
    rid = request_id()
    body = (
        f'<ErrorResponse xmlns="{namespace}"><Error><Type>Sender</Type>'
        f"<Code>{code}</Code><Message>{escape(message)}</Message></Error>"
        f"<RequestId>{rid}</RequestId></ErrorResponse>"
    ).encode()
    start_response(
        "400 Bad Request",
        [
            ("Content-Type", "text/xml"),
            ("Content-Length", str(len(body))),
            ("x-amzn-RequestId", rid),
        ],
    )
    return [body]


KEY_POLICY_MAX_BYTES = 32 * 1024


def kms_error(start_response, code, message):
    body = json.dumps({"__type": code, "message": message}).encode()
    start_response(
        "400 Bad Request",
        [
            ("Content-Type", "application/x-amz-json-1.1"),
            ("Content-Length", str(len(body))),
            ("x-amzn-RequestId", request_id()),
        ],
    )
    return [body]


def lets_caller_put_key_policy(policy, account_id, arn):
    """KMS's lockout safety check, simplified to what s3ward's tests need: an Allow with no
    condition whose principal names the caller and whose action covers kms:PutKeyPolicy, and
    no Deny of it to everyone or to the caller."""
    names = {"*", account_id, f"arn:aws:iam::{account_id}:root", arn}
    m = re.match(r"^arn:aws:sts::(\d{12}):assumed-role/([^/]+)/", arn)
    if m:
        names.add(f"arn:aws:iam::{m.group(1)}:role/{m.group(2)}")

    def covers(stmt):
        actions = [a.lower() for a in as_list(stmt.get("Action")) if isinstance(a, str)]
        if not any(a in ("*", "kms:*", "kms:putkeypolicy") for a in actions):
            return False
        principal = stmt.get("Principal")
        if principal == "*":
            return True
        return any(p in names for p in aws_principals({"Principal": principal}))

    for stmt in statements(policy):
        if stmt.get("Effect") == "Deny" and covers(stmt):
            return False
    return any(
        stmt.get("Effect") == "Allow" and not stmt.get("Condition") and covers(stmt)
        for stmt in statements(policy)
    )


def json_response(start_response, status, value):
    body = json.dumps(value).encode()
    start_response(
        status, [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]
    )
    return [body]


# --- Foreign object owners ---------------------------------------------------------------

_original_acl_to_dict = S3Response._acl_to_dict


def _acl_to_dict(acl):
    result = _original_acl_to_dict(acl)
    owner = getattr(acl, "s3ward_owner", None)
    if owner is not None:
        result["Owner"] = {"ID": owner[0], "DisplayName": owner[1]}
    return result


# moto hard-codes one owner in every ACL response; let a marked ACL name its own.
S3Response._acl_to_dict = staticmethod(_acl_to_dict)


def foreign_owner(key):
    return getattr(getattr(key, "acl", None), "s3ward_owner", None)


def all_versions(bucket):
    for _name, versions in list(bucket.keys.iterlists()):
        yield from versions


def take_ownership(bucket):
    """What BucketOwnerEnforced does on AWS: the bucket owner owns every object."""
    for key in all_versions(bucket):
        if foreign_owner(key) is not None:
            key.acl = get_canned_acl("private")


def rewrite_list_owners(body, bucket):
    """Puts foreign owners into a ListObjects(V2)/ListObjectVersions response."""
    by_version = {}
    for key in all_versions(bucket):
        owner = foreign_owner(key)
        if owner is not None:
            version = "null" if key.version_id is None else str(key.version_id)
            by_version[(key.name, version)] = owner
    if not by_version:
        return body
    text = body.decode("utf-8")
    url_encoded = "<EncodingType>url</EncodingType>" in text

    def fix(match):
        block = match.group(0)
        name = re.search(r"<Key>(.*?)</Key>", block, re.S)
        if name is None or "<Owner>" not in block:
            return block
        key = unescape(name.group(1), {"&quot;": '"', "&apos;": "'"})
        if url_encoded:
            key = unquote(key)
        if match.group(1) == "Version":
            version = re.search(r"<VersionId>(.*?)</VersionId>", block, re.S)
            owner = by_version.get((key, version.group(1) if version else "null"))
        else:
            owner = foreign_owner(bucket.keys.get(key))
        if owner is None:
            return block
        replacement = (
            f"<Owner><ID>{escape(owner[0])}</ID>"
            f"<DisplayName>{escape(owner[1])}</DisplayName></Owner>"
        )
        return re.sub(r"<Owner>.*?</Owner>", replacement, block, count=1, flags=re.S)

    text = re.sub(r"<(Contents|Version)>.*?</\1>", fix, text, flags=re.S)
    return text.encode("utf-8")


# --- The middleware ----------------------------------------------------------------------


class Strict:
    def __init__(self, app):
        self.app = app

    def __call__(self, environ, start_response):
        path = environ.get("PATH_INFO", "")
        if path.startswith("/_s3ward/"):
            return self.hook(environ, start_response, path)
        auth = environ.get("HTTP_AUTHORIZATION", "")
        scope = CREDENTIAL_SCOPE.search(auth)
        service = scope.group(3) if scope else None
        access_key = scope.group(1) if scope else None
        if service == "s3":
            return self.s3(environ, start_response, access_key)
        if service == "iam":
            return self.iam(environ, start_response)
        if service == "kms":
            return self.kms(environ, start_response, access_key)
        return self.app(environ, start_response)

    # S3 --------------------------------------------------------------------------------

    def s3(self, environ, start_response, access_key):
        method = environ.get("REQUEST_METHOD", "GET")
        # PATH_INFO is the percent-decoded path as latin-1 text (PEP 3333).
        path = environ.get("PATH_INFO", "").encode("latin-1").decode("utf-8", "replace")
        query = parse_qs(environ.get("QUERY_STRING", ""), keep_blank_values=True)
        bucket_name, _, key_name = path.lstrip("/").partition("/")
        if not bucket_name:
            return self.app(environ, start_response)

        if method == "PUT" and not key_name and not query.keys() - {"x-id"}:
            return self.create_bucket(environ, start_response, bucket_name)

        bucket = find_bucket(bucket_name)
        if bucket is None:
            return self.app(environ, start_response)  # moto answers NoSuchBucket
        enforced = ownership_of(bucket) == "BucketOwnerEnforced"

        if method == "PUT" and not key_name and "ownershipControls" in query:
            body = read_body(environ)
            try:
                wanted = xml_text(ElementTree.fromstring(body), "ObjectOwnership")
            except ElementTree.ParseError:
                wanted = ""
            if wanted == "BucketOwnerEnforced":
                if not grants_only_owner(bucket.acl):
                    return s3_error(
                        start_response,
                        "400 Bad Request",
                        "InvalidBucketAclWithObjectOwnership",
                        "Bucket cannot have ACLs set with ObjectOwnership's "
                        "BucketOwnerEnforced setting",
                        bucket_name,
                    )
                return self.then(environ, start_response, lambda: take_ownership(bucket))
            return self.app(environ, start_response)

        if method == "PUT" and "acl" in query:
            problem = acl_headers_problem(environ) or acl_body_problem(read_body(environ))
            if enforced and problem:
                return self.acls_not_supported(start_response, bucket_name)
            return self.app(environ, start_response)

        if key_name and (method == "PUT" or (method == "POST" and "uploads" in query)):
            if enforced and acl_headers_problem(environ):
                return self.acls_not_supported(start_response, bucket_name)
            return self.app(environ, start_response)

        if method == "PUT" and not key_name and "policy" in query:
            return self.put_bucket_policy(
                environ, start_response, bucket, bucket_name, access_key
            )

        if method == "GET" and not key_name and self.is_listing(query):
            return self.listing(environ, start_response, bucket)

        return self.app(environ, start_response)

    def create_bucket(self, environ, start_response, bucket_name):
        ownership = environ.get("HTTP_X_AMZ_OBJECT_OWNERSHIP")
        if ownership == "BucketOwnerEnforced" and acl_headers_problem(environ):
            return s3_error(
                start_response,
                "400 Bad Request",
                "InvalidBucketAclWithObjectOwnership",
                "Bucket cannot have ACLs set with ObjectOwnership's "
                "BucketOwnerEnforced setting",
                bucket_name,
            )
        return self.app(environ, start_response)

    def acls_not_supported(self, start_response, bucket_name):
        return s3_error(
            start_response,
            "400 Bad Request",
            "AccessControlListNotSupported",
            "The bucket does not allow ACLs",
            bucket_name,
        )

    def put_bucket_policy(self, environ, start_response, bucket, bucket_name, access_key):
        body = read_body(environ)
        try:
            policy = json.loads(body)
        except ValueError:
            return self.app(environ, start_response)
        block = bucket.public_access_block
        if block is not None and block.block_public_policy and is_public(policy):
            arn = caller_arn(account_of(environ, access_key), access_key)
            return s3_error(
                start_response,
                "403 Forbidden",
                "AccessDenied",
                f"User: {arn} is not authorized to perform: s3:PutBucketPolicy on "
                f'resource: "arn:aws:s3:::{bucket_name}" because public policies are '
                "blocked by the BlockPublicPolicy block public access setting.",
                bucket_name,
            )
        if invalid_principal(policy, principal_delay(environ)) is not None:
            return s3_error(
                start_response,
                "400 Bad Request",
                "MalformedPolicy",
                "Invalid principal in policy",
                bucket_name,
            )
        return self.app(environ, start_response)

    @staticmethod
    def is_listing(query):
        subresources = set(query) - {
            "list-type",
            "prefix",
            "delimiter",
            "encoding-type",
            "max-keys",
            "marker",
            "continuation-token",
            "start-after",
            "fetch-owner",
            "key-marker",
            "version-id-marker",
            "x-id",
        }
        return not subresources or subresources == {"versions"}

    def listing(self, environ, start_response, bucket):
        if not any(foreign_owner(k) is not None for k in all_versions(bucket)):
            return self.app(environ, start_response)
        status, headers, body = self.call(environ)
        if status.startswith("200"):
            body = rewrite_list_owners(body, bucket)
            headers = [(k, v) for k, v in headers if k.lower() != "content-length"]
            headers.append(("Content-Length", str(len(body))))
        start_response(status, headers)
        return [body]

    # IAM -------------------------------------------------------------------------------

    def iam(self, environ, start_response):
        body = read_body(environ)
        params = parse_qs(environ.get("QUERY_STRING", ""))
        params.update(parse_qs(body.decode("utf-8", "replace")))
        action = params.get("Action", [""])[0]
        field = {
            "CreateRole": "AssumeRolePolicyDocument",
            "UpdateAssumeRolePolicy": "PolicyDocument",
        }.get(action)
        if field and field in params:
            try:
                policy = json.loads(params[field][0])
            except ValueError:
                return self.app(environ, start_response)
            bad = invalid_principal(policy, principal_delay(environ))
            if bad is not None:
                return query_error(
                    start_response,
                    IAM_NS,
                    "MalformedPolicyDocument",
                    f'Invalid principal in policy: "AWS":"{bad}"',
                )
        return self.app(environ, start_response)

    # KMS -------------------------------------------------------------------------------

    def kms(self, environ, start_response, access_key):
        if environ.get("HTTP_X_AMZ_TARGET") != "TrentService.PutKeyPolicy":
            return self.app(environ, start_response)
        try:
            req = json.loads(read_body(environ) or b"{}")
            text = req.get("Policy", "")
            policy = json.loads(text)
        except (ValueError, AttributeError):
            return self.app(environ, start_response)
        if len(text.encode("utf-8")) > KEY_POLICY_MAX_BYTES:
            return kms_error(
                start_response,
                "LimitExceededException",
                f"Policy exceeds the maximum size of {KEY_POLICY_MAX_BYTES} bytes",
            )
        if invalid_principal(policy, principal_delay(environ)) is not None:
            return kms_error(
                start_response,
                "MalformedPolicyDocumentException",
                "Policy contains a statement with one or more invalid principals.",
            )
        if not req.get("BypassPolicyLockoutSafetyCheck"):
            account_id = account_of(environ, access_key)
            if not lets_caller_put_key_policy(policy, account_id, caller_arn(account_id, access_key)):
                return kms_error(
                    start_response,
                    "MalformedPolicyDocumentException",
                    "The new key policy will not allow you to update the key policy in the future.",
                )
        return self.app(environ, start_response)

    # Plumbing --------------------------------------------------------------------------

    def call(self, environ):
        """Runs moto and returns (status, headers, body) instead of streaming them."""
        captured = {}
        chunks = []

        def start(status, headers, exc_info=None):
            captured["status"] = status
            captured["headers"] = list(headers)
            return chunks.append

        result = self.app(environ, start)
        try:
            chunks.extend(result)
        finally:
            if hasattr(result, "close"):
                result.close()
        return captured["status"], captured["headers"], b"".join(chunks)

    def then(self, environ, start_response, on_success):
        status, headers, body = self.call(environ)
        if status.startswith("2"):
            on_success()
        start_response(status, headers)
        return [body]

    # Test hooks ------------------------------------------------------------------------

    def hook(self, environ, start_response, path):
        method = environ.get("REQUEST_METHOD")
        if path == "/_s3ward/health" and method == "GET":
            return json_response(start_response, "200 OK", {"ok": True})
        if path == "/_s3ward/object-owner" and method == "POST":
            try:
                req = json.loads(read_body(environ) or b"{}")
                bucket_name, key_name = req["bucket"], req["key"]
                owner_id = req["owner_id"]
                display_name = req.get("display_name", "other")
            except (ValueError, KeyError, TypeError) as e:
                return json_response(start_response, "400 Bad Request", {"error": str(e)})
            if not OWNER_ID.match(owner_id):
                return json_response(
                    start_response, "400 Bad Request", {"error": "owner_id: 64 hex digits"}
                )
            bucket = find_bucket(bucket_name)
            key = bucket.keys.get(key_name) if bucket is not None else None
            if key is None:
                return json_response(
                    start_response, "404 Not Found", {"error": "no such bucket or key"}
                )
            # A fresh ACL: moto may share one FakeAcl between a bucket and its objects.
            acl = FakeAcl(
                [
                    FakeGrant(
                        [FakeGrantee(grantee_id=owner_id, display_name=display_name)],
                        ["FULL_CONTROL"],
                    )
                ]
            )
            acl.s3ward_owner = (owner_id, display_name)
            key.acl = acl
            return json_response(start_response, "200 OK", {"ok": True})
        return json_response(start_response, "404 Not Found", {"error": "no such hook"})


class QuietRequestHandler(MotoRequestHandler):
    """moto's handler without a log line per request (errors are still logged)."""

    def log_request(self, code="-", size="-"):
        pass


def exit_on_stdin_eof():
    try:
        while sys.stdin.buffer.read(65536):
            pass
    finally:
        os._exit(0)


def main():
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    app = Strict(DomainDispatcherApplication(create_backend_app))
    server = make_server(
        "127.0.0.1", 0, app, threaded=True, request_handler=QuietRequestHandler
    )
    port = server.server_address[1]
    os.environ["MOTO_PORT"] = str(port)
    threading.Thread(target=exit_on_stdin_eof, daemon=True).start()
    sys.stdout.write(f"PORT {port}\n")
    sys.stdout.flush()
    # Nothing else may go to stdout: the reader may have stopped reading it.
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    server.serve_forever()


if __name__ == "__main__":
    main()
