CREATE TABLE "users" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"name" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "users_name_unique" UNIQUE("name")
);
--> statement-breakpoint
CREATE TABLE "api_keys" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"user_id" uuid NOT NULL,
	"name" text DEFAULT 'default' NOT NULL,
	"secret_hash" text NOT NULL,
	"prefix" text NOT NULL,
	"allowed_models" text[],
	"is_deleted" boolean DEFAULT false NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"last_used_at" timestamp with time zone,
	CONSTRAINT "api_keys_secretHash_unique" UNIQUE("secret_hash")
);
--> statement-breakpoint
CREATE TABLE "batches" (
	"id" uuid PRIMARY KEY NOT NULL,
	"created_by" uuid NOT NULL,
	"endpoint" text NOT NULL,
	"completion_window" text NOT NULL,
	"expires_at" timestamp with time zone,
	"total_requests" integer DEFAULT 1 NOT NULL,
	"cancelling_at" timestamp with time zone,
	"cancelled_at" timestamp with time zone,
	"completed_at" timestamp with time zone,
	"failed_at" timestamp with time zone,
	"metadata" jsonb,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "requests" (
	"id" uuid PRIMARY KEY NOT NULL,
	"batch_id" uuid NOT NULL,
	"state" text NOT NULL,
	"endpoint" text NOT NULL,
	"model" text NOT NULL,
	"service_tier" text DEFAULT 'default' NOT NULL,
	"background" boolean DEFAULT false NOT NULL,
	"body" text NOT NULL,
	"created_by" uuid NOT NULL,
	"api_key_id" uuid,
	"response_status" smallint,
	"response_body" text,
	"error" text,
	"retry_attempt" integer DEFAULT 0 NOT NULL,
	"not_before" timestamp with time zone,
	"claimed_at" timestamp with time zone,
	"started_at" timestamp with time zone,
	"completed_at" timestamp with time zone,
	"failed_at" timestamp with time zone,
	"canceled_at" timestamp with time zone,
	"deleted_at" timestamp with time zone,
	"expires_at" timestamp with time zone,
	"prompt_tokens" integer,
	"completion_tokens" integer,
	"total_tokens" integer,
	"response_size" bigint,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "requests_state_valid" CHECK ("requests"."state" IN ('pending', 'claimed', 'processing', 'completed', 'failed', 'canceled')),
	CONSTRAINT "requests_service_tier_valid" CHECK ("requests"."service_tier" IN ('auto', 'default', 'flex', 'priority')),
	CONSTRAINT "requests_completed_fields" CHECK ("requests"."state" <> 'completed' OR ("requests"."completed_at" IS NOT NULL AND "requests"."response_status" IS NOT NULL AND "requests"."response_body" IS NOT NULL)),
	CONSTRAINT "requests_failed_fields" CHECK ("requests"."state" <> 'failed' OR ("requests"."failed_at" IS NOT NULL AND "requests"."error" IS NOT NULL)),
	CONSTRAINT "requests_canceled_fields" CHECK ("requests"."state" <> 'canceled' OR "requests"."canceled_at" IS NOT NULL)
);
--> statement-breakpoint
ALTER TABLE "api_keys" ADD CONSTRAINT "api_keys_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "requests" ADD CONSTRAINT "requests_batch_id_batches_id_fk" FOREIGN KEY ("batch_id") REFERENCES "public"."batches"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "api_keys_user_idx" ON "api_keys" USING btree ("user_id") WHERE NOT "api_keys"."is_deleted";--> statement-breakpoint
CREATE INDEX "requests_created_by_created_at_idx" ON "requests" USING btree ("created_by","created_at" DESC NULLS LAST);--> statement-breakpoint
CREATE INDEX "requests_batch_idx" ON "requests" USING btree ("batch_id");--> statement-breakpoint
CREATE INDEX "requests_model_created_at_idx" ON "requests" USING btree ("model","created_at");--> statement-breakpoint
CREATE INDEX "requests_live_state_started_idx" ON "requests" USING btree ("state","started_at") WHERE "requests"."state" NOT IN ('completed', 'failed', 'canceled');