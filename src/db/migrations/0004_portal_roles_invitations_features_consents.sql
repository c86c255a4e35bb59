-- The client portal: roles, approval, invitations, feature flags and consents. Written by hand so that it
-- runs on three starting points and leaves the same schema on each: a new database, a database adopted from
-- the FastAPI service's early schema (users only), and the FastAPI service's 2026 schema, which already has
-- these columns and tables (with naive timestamps, plaintext tokens and foreign keys without ON DELETE).
-- Tables of the 2026 schema that this service does not own (audit_logs, windfarms, user_favorites,
-- alembic_version) are not touched.

-- users: the portal columns. Accounts that exist before this migration on a database without them are
-- approved (they could sign in until now); the 2026 schema's rows keep their own values. The service sets
-- is_approved on every account it creates (REGISTRATION_MODE); the column default, true, keeps rows that
-- other tools insert without it (scripts, fixtures, the FastAPI service's own seed) working as before.
ALTER TABLE "users" ADD COLUMN IF NOT EXISTS "role" varchar(50) DEFAULT 'client' NOT NULL;--> statement-breakpoint
ALTER TABLE "users" ADD COLUMN IF NOT EXISTS "is_approved" boolean DEFAULT true NOT NULL;--> statement-breakpoint
ALTER TABLE "users" ALTER COLUMN "is_approved" SET DEFAULT true;--> statement-breakpoint
-- Added naive, like the 2026 schema's column, so that one conversion below serves both.
ALTER TABLE "users" ADD COLUMN IF NOT EXISTS "approved_at" timestamp;--> statement-breakpoint
ALTER TABLE "users" ALTER COLUMN "approved_at" SET DATA TYPE timestamp with time zone USING "approved_at" AT TIME ZONE 'UTC';--> statement-breakpoint
ALTER TABLE "users" ADD COLUMN IF NOT EXISTS "approved_by_id" integer;--> statement-breakpoint
ALTER TABLE "users" ADD COLUMN IF NOT EXISTS "company_name" varchar(255);--> statement-breakpoint
ALTER TABLE "users" ADD COLUMN IF NOT EXISTS "phone" varchar(50);--> statement-breakpoint
-- Deleting an admin who approved someone failed on the old constraint (no ON DELETE): forget the approver instead.
ALTER TABLE "users" DROP CONSTRAINT IF EXISTS "fk_users_approved_by_id";--> statement-breakpoint
ALTER TABLE "users" ADD CONSTRAINT "fk_users_approved_by_id" FOREIGN KEY ("approved_by_id") REFERENCES "public"."users"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "users" ADD CONSTRAINT "users_role_check" CHECK ("users"."role" IN ('client', 'admin'));--> statement-breakpoint

-- The 2026 schema kept verification and reset tokens in plaintext on users. Links still live are moved into
-- one_time_tokens as their SHA-256 (hex of the UTF-8 text, as the service hashes tokens), with the lifetimes'
-- defaults (48 hours, 60 minutes) from when they were sent; then the plaintext columns go.
DO $$
BEGIN
  IF EXISTS (SELECT 1 FROM information_schema.columns
             WHERE table_schema = current_schema() AND table_name = 'users' AND column_name = 'email_verification_token') THEN
    EXECUTE $sql$
      INSERT INTO one_time_tokens (user_id, purpose, token_hash, email, created_at, expires_at)
      SELECT id, 'email_verification', encode(sha256(convert_to(email_verification_token, 'UTF8')), 'hex'), email,
             email_verification_sent_at AT TIME ZONE 'UTC',
             (email_verification_sent_at AT TIME ZONE 'UTC') + interval '48 hours'
      FROM users
      WHERE email_verification_token IS NOT NULL AND email_verification_sent_at IS NOT NULL AND NOT email_verified
        AND (email_verification_sent_at AT TIME ZONE 'UTC') + interval '48 hours' > now()
      ON CONFLICT (token_hash) DO NOTHING
    $sql$;
  END IF;
  IF EXISTS (SELECT 1 FROM information_schema.columns
             WHERE table_schema = current_schema() AND table_name = 'users' AND column_name = 'password_reset_token') THEN
    EXECUTE $sql$
      INSERT INTO one_time_tokens (user_id, purpose, token_hash, email, created_at, expires_at)
      SELECT id, 'password_reset', encode(sha256(convert_to(password_reset_token, 'UTF8')), 'hex'), email,
             password_reset_sent_at AT TIME ZONE 'UTC',
             (password_reset_sent_at AT TIME ZONE 'UTC') + interval '60 minutes'
      FROM users
      WHERE password_reset_token IS NOT NULL AND password_reset_sent_at IS NOT NULL AND is_active
        AND (password_reset_sent_at AT TIME ZONE 'UTC') + interval '60 minutes' > now()
      ON CONFLICT (token_hash) DO NOTHING
    $sql$;
  END IF;
END
$$;--> statement-breakpoint
ALTER TABLE "users" DROP COLUMN IF EXISTS "email_verification_token";--> statement-breakpoint
ALTER TABLE "users" DROP COLUMN IF EXISTS "email_verification_sent_at";--> statement-breakpoint
ALTER TABLE "users" DROP COLUMN IF EXISTS "password_reset_token";--> statement-breakpoint
ALTER TABLE "users" DROP COLUMN IF EXISTS "password_reset_sent_at";--> statement-breakpoint

-- invitations: created in the 2026 schema's shape when missing, then brought to ours on every database.
CREATE TABLE IF NOT EXISTS "invitations" (
	"id" serial PRIMARY KEY NOT NULL,
	"email" varchar(255) NOT NULL,
	"token" varchar(255) NOT NULL,
	"invited_by_id" integer NOT NULL,
	"expires_at" timestamp NOT NULL,
	"used_at" timestamp,
	"created_at" timestamp NOT NULL,
	CONSTRAINT "invitations_invited_by_id_fkey" FOREIGN KEY ("invited_by_id") REFERENCES "public"."users"("id")
);
--> statement-breakpoint
CREATE UNIQUE INDEX IF NOT EXISTS "ix_invitations_token" ON "invitations" USING btree ("token");--> statement-breakpoint
CREATE INDEX IF NOT EXISTS "ix_invitations_id" ON "invitations" USING btree ("id");--> statement-breakpoint
CREATE INDEX IF NOT EXISTS "ix_invitations_email" ON "invitations" USING btree ("email");--> statement-breakpoint
-- Plaintext tokens are hashed in place: a pending invitation keeps working, and the plaintext is gone.
UPDATE "invitations" SET "token" = encode(sha256(convert_to("token", 'UTF8')), 'hex');--> statement-breakpoint
ALTER TABLE "invitations" ALTER COLUMN "token" SET DATA TYPE varchar(64);--> statement-breakpoint
ALTER TABLE "invitations" RENAME COLUMN "token" TO "token_hash";--> statement-breakpoint
ALTER INDEX "ix_invitations_token" RENAME TO "invitations_token_hash_key";--> statement-breakpoint
ALTER TABLE "invitations" ADD COLUMN "role" varchar(50) DEFAULT 'client' NOT NULL;--> statement-breakpoint
ALTER TABLE "invitations" ADD COLUMN "revoked_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "invitations" ALTER COLUMN "expires_at" SET DATA TYPE timestamp with time zone USING "expires_at" AT TIME ZONE 'UTC';--> statement-breakpoint
ALTER TABLE "invitations" ALTER COLUMN "used_at" SET DATA TYPE timestamp with time zone USING "used_at" AT TIME ZONE 'UTC';--> statement-breakpoint
ALTER TABLE "invitations" ALTER COLUMN "created_at" SET DATA TYPE timestamp with time zone USING "created_at" AT TIME ZONE 'UTC';--> statement-breakpoint
ALTER TABLE "invitations" ALTER COLUMN "created_at" SET DEFAULT now();--> statement-breakpoint
-- Deleting an admin who invited someone failed (no ON DELETE): keep the invitation, forget its sender.
ALTER TABLE "invitations" ALTER COLUMN "invited_by_id" DROP NOT NULL;--> statement-breakpoint
ALTER TABLE "invitations" DROP CONSTRAINT "invitations_invited_by_id_fkey";--> statement-breakpoint
ALTER TABLE "invitations" ADD CONSTRAINT "invitations_invited_by_id_fkey" FOREIGN KEY ("invited_by_id") REFERENCES "public"."users"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "invitations_email_lower_idx" ON "invitations" USING btree (lower("email"));--> statement-breakpoint

-- user_features: the same approach.
CREATE TABLE IF NOT EXISTS "user_features" (
	"id" serial PRIMARY KEY NOT NULL,
	"user_id" integer NOT NULL,
	"feature_key" varchar(100) NOT NULL,
	"enabled" boolean NOT NULL,
	"created_at" timestamp NOT NULL,
	"updated_at" timestamp,
	CONSTRAINT "uq_user_feature" UNIQUE("user_id","feature_key"),
	CONSTRAINT "user_features_user_id_fkey" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX IF NOT EXISTS "ix_user_features_id" ON "user_features" USING btree ("id");--> statement-breakpoint
CREATE INDEX IF NOT EXISTS "ix_user_features_feature_key" ON "user_features" USING btree ("feature_key");--> statement-breakpoint
CREATE INDEX IF NOT EXISTS "ix_user_features_user_id" ON "user_features" USING btree ("user_id");--> statement-breakpoint
ALTER TABLE "user_features" ALTER COLUMN "enabled" SET DEFAULT true;--> statement-breakpoint
ALTER TABLE "user_features" ALTER COLUMN "created_at" SET DATA TYPE timestamp with time zone USING "created_at" AT TIME ZONE 'UTC';--> statement-breakpoint
ALTER TABLE "user_features" ALTER COLUMN "created_at" SET DEFAULT now();--> statement-breakpoint
ALTER TABLE "user_features" ALTER COLUMN "updated_at" SET DATA TYPE timestamp with time zone USING "updated_at" AT TIME ZONE 'UTC';--> statement-breakpoint

-- user_consents: the same approach; append-only.
CREATE TABLE IF NOT EXISTS "user_consents" (
	"id" serial PRIMARY KEY NOT NULL,
	"user_id" integer NOT NULL,
	"document_type" varchar(16) NOT NULL,
	"document_version" varchar(32) NOT NULL,
	"accepted_at" timestamp DEFAULT CURRENT_TIMESTAMP NOT NULL,
	"ip_address" varchar(45),
	"user_agent" varchar(512),
	CONSTRAINT "user_consents_user_id_fkey" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX IF NOT EXISTS "ix_user_consents_id" ON "user_consents" USING btree ("id");--> statement-breakpoint
CREATE INDEX IF NOT EXISTS "ix_user_consents_user_id" ON "user_consents" USING btree ("user_id");--> statement-breakpoint
CREATE INDEX IF NOT EXISTS "ix_user_consents_user_doc" ON "user_consents" USING btree ("user_id","document_type");--> statement-breakpoint
CREATE INDEX IF NOT EXISTS "ix_user_consents_accepted_at" ON "user_consents" USING btree ("accepted_at");--> statement-breakpoint
ALTER TABLE "user_consents" ALTER COLUMN "accepted_at" SET DATA TYPE timestamp with time zone USING "accepted_at" AT TIME ZONE 'UTC';--> statement-breakpoint
ALTER TABLE "user_consents" ALTER COLUMN "accepted_at" SET DEFAULT now();--> statement-breakpoint

-- Rows restored with explicit ids leave the serial sequences behind; move them past the highest id.
SELECT setval(pg_get_serial_sequence('invitations', 'id'), COALESCE((SELECT max("id") FROM "invitations"), 0) + 1, false);--> statement-breakpoint
SELECT setval(pg_get_serial_sequence('user_features', 'id'), COALESCE((SELECT max("id") FROM "user_features"), 0) + 1, false);--> statement-breakpoint
SELECT setval(pg_get_serial_sequence('user_consents', 'id'), COALESCE((SELECT max("id") FROM "user_consents"), 0) + 1, false);
