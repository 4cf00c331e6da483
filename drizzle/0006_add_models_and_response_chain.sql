CREATE TABLE "models" (
	"name" text PRIMARY KEY NOT NULL,
	"upstream_url" text NOT NULL,
	"api" text DEFAULT 'responses' NOT NULL,
	"upstream_api_key_env" text,
	"concurrency" integer,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "models_api_valid" CHECK ("models"."api" IN ('responses', 'chat')),
	CONSTRAINT "models_concurrency_positive" CHECK ("models"."concurrency" IS NULL OR "models"."concurrency" > 0)
);
--> statement-breakpoint
ALTER TABLE "requests" ADD COLUMN "previous_request_id" uuid;--> statement-breakpoint
ALTER TABLE "requests" ADD COLUMN "store" boolean DEFAULT true NOT NULL;