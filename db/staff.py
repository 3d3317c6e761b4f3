"""Staff accounts of the admin, the audit log of what they saw and did, and message templates
edited in the admin (versioned: the newest version of a name is the one sent)."""
import uuid

from flask_security import RoleMixin, UserMixin
from sqlalchemy import (
    Boolean,
    Column,
    Date,
    ForeignKey,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
    select,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from db.base import BigId, UTCDateTime, db, utcnow
from db.password_salt import verify_with_previous_salt

ROLES = ("admin", "staff", "viewer")

staff_roles_users = Table(
    "staff_roles_users", db.metadata,
    Column("user_id", Integer, ForeignKey("staff_users.id", ondelete="CASCADE"),
           primary_key=True),
    Column("role_id", Integer, ForeignKey("staff_roles.id", ondelete="CASCADE"),
           primary_key=True),
)


class StaffRole(db.Model, RoleMixin):
    __tablename__ = "staff_roles"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(32), unique=True)
    description: Mapped[str | None] = mapped_column(String(200))

    def __str__(self) -> str:
        return self.name


class StaffUser(db.Model, UserMixin):
    __tablename__ = "staff_users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    password: Mapped[str | None] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # Changing it signs the account out everywhere (Flask-Security keeps it in the session).
    fs_uniquifier: Mapped[str] = mapped_column(String(64), unique=True,
                                               default=lambda: uuid.uuid4().hex)
    # Optional second factor (authenticator app); the secret is encrypted by Flask-Security.
    tf_primary_method: Mapped[str | None] = mapped_column(String(64))
    tf_totp_secret: Mapped[str | None] = mapped_column(String(255))
    # Lock-out: wrong passwords in a row; locked_at set at the limit, lifted when its time
    # is up (web.admin.throttle) or by an admin.
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_at = mapped_column(UTCDateTime, nullable=True)
    last_login_at = mapped_column(UTCDateTime, nullable=True)
    current_login_at = mapped_column(UTCDateTime, nullable=True)
    last_login_ip: Mapped[str | None] = mapped_column(String(64))
    current_login_ip: Mapped[str | None] = mapped_column(String(64))
    login_count: Mapped[int] = mapped_column(Integer, default=0)
    created_at = mapped_column(UTCDateTime, default=utcnow, nullable=False)

    roles = relationship(StaffRole, secondary=staff_roles_users, lazy="selectin")
    clinics = relationship("StaffLocation", lazy="selectin", cascade="all, delete-orphan")

    def verify_and_update_password(self, password: str) -> bool:
        """Flask-Security's check, then the previous salt's while one is being rotated out."""
        return super().verify_and_update_password(password) or \
            verify_with_previous_salt(self, password)

    def is_locked(self, form_error=None) -> bool:
        """Flask-Security asks this after the password checked out; a locked account stays out."""
        if self.locked_at is None:
            return False
        if form_error is not None:
            form_error.append("This account is locked for a while after too many wrong "
                              "passwords; try again later, or ask an administrator.")
        return True

    @property
    def role_names(self) -> set[str]:
        return {role.name for role in self.roles}

    @property
    def location_external_ids(self) -> set[str]:
        return {clinic.location_external_id for clinic in self.clinics}

    def set_locations(self, names) -> None:
        """Tie the account to these clinics (external ids); rows kept are not re-inserted."""
        wanted = {name.strip() for name in names if name and name.strip()}
        self.clinics = [c for c in self.clinics if c.location_external_id in wanted] + [
            StaffLocation(location_external_id=name)
            for name in sorted(wanted - self.location_external_ids)]

    def __str__(self) -> str:
        return self.email


class StaffLocation(db.Model):
    """A location a staff or viewer account may see (admins see every one). Keyed by the
    location's external id, as the CLI names it: an account may be set up for a clinic the
    booking system has not sent yet."""

    __tablename__ = "staff_locations"

    user_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id", ondelete="CASCADE"),
                                         primary_key=True)
    location_external_id: Mapped[str] = mapped_column(String(64), primary_key=True)


class StaffCall(db.Model):
    """Staff called a patient of the call list (their reminder or notice did not reach them)."""

    __tablename__ = "staff_calls"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    appointment_id: Mapped[int] = mapped_column(ForeignKey("appointments.id"))
    kind: Mapped[str] = mapped_column(String(16))
    local_date = mapped_column(Date, nullable=False, index=True)
    called_at = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    called_by: Mapped[str | None] = mapped_column(String(320))


class AuditEntry(db.Model):
    """Who saw or did what, from where. Append-only (PostgreSQL refuses UPDATE and DELETE).

    ``detail`` holds ids, statuses and reasons typed by staff, never contact details.
    """

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    at = mapped_column(UTCDateTime, default=utcnow, nullable=False, index=True)
    account: Mapped[str | None] = mapped_column(String(320), index=True)
    ip: Mapped[str | None] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(64), index=True)
    object_type: Mapped[str | None] = mapped_column(String(64))
    object_id: Mapped[str | None] = mapped_column(String(200))
    detail: Mapped[str | None] = mapped_column(Text)


class TemplateVersion(db.Model):
    """One saved version of a message template part, e.g. ``reminder.sms.en.txt``."""

    __tablename__ = "template_versions"
    __table_args__ = (UniqueConstraint("name", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), index=True)
    version: Mapped[int] = mapped_column(Integer)
    body: Mapped[str] = mapped_column(Text)
    created_by: Mapped[str | None] = mapped_column(String(320))
    created_at = mapped_column(UTCDateTime, default=utcnow, nullable=False)


def latest_template(name: str) -> TemplateVersion | None:
    """The newest saved version of the template ``name``, or None (use the file)."""
    return db.session.execute(
        select(TemplateVersion).where(TemplateVersion.name == name)
        .order_by(TemplateVersion.version.desc()).limit(1)
    ).scalar_one_or_none()
