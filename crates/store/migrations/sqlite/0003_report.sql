-- Report tables: the merged entities as rows, one table per kind with one
-- column per field (doorstep-core's schema), so the dashboard and exports
-- are SQL over indexes instead of JSON. They are derived: written in the
-- same transaction as every push and office write (report::project), and
-- rebuilt from `entity` and `change_log` when `server_meta.report_built`
-- is missing. Derived columns (household visits and status inputs, run
-- progress) follow the tablet's rules.

CREATE TABLE r_commune (
    id TEXT PRIMARY KEY, scope TEXT NOT NULL,
    name TEXT, province TEXT, deleted INTEGER NOT NULL DEFAULT 0
) STRICT;

CREATE TABLE r_village (
    id TEXT PRIMARY KEY, scope TEXT NOT NULL,
    commune_id TEXT, name TEXT, deleted INTEGER NOT NULL DEFAULT 0
) STRICT;
CREATE INDEX r_village_by_commune ON r_village(commune_id);

CREATE TABLE r_campaign (
    id TEXT PRIMARY KEY, scope TEXT NOT NULL,
    name TEXT, starts_on TEXT, ends_on TEXT, commune_ids TEXT, pack_keys TEXT,
    deleted INTEGER NOT NULL DEFAULT 0
) STRICT;

CREATE TABLE r_member (
    id TEXT PRIMARY KEY, scope TEXT NOT NULL,
    campaign_id TEXT, name TEXT, role TEXT, unit TEXT, phone TEXT, village_ids TEXT,
    deleted INTEGER NOT NULL DEFAULT 0
) STRICT;

CREATE TABLE r_household (
    id TEXT PRIMARY KEY, scope TEXT NOT NULL,
    village_id TEXT, head_name TEXT, landmark TEXT, phone TEXT, members_count INTEGER,
    language TEXT, notes TEXT, lat_e7 INTEGER, lng_e7 INTEGER, created_at TEXT,
    deleted INTEGER NOT NULL DEFAULT 0,
    -- derived from visits and runs that are not deleted
    visits INTEGER NOT NULL DEFAULT 0,
    reached INTEGER NOT NULL DEFAULT 0,   -- a visit other than "nobody home"
    last_visit_at TEXT,
    last_outcome TEXT,
    follow_up_on TEXT,
    runs INTEGER NOT NULL DEFAULT 0,
    runs_completed INTEGER NOT NULL DEFAULT 0
) STRICT;
CREATE INDEX r_household_by_village ON r_household(village_id);
CREATE INDEX r_household_by_scope ON r_household(scope);

CREATE TABLE r_person (
    id TEXT PRIMARY KEY, scope TEXT NOT NULL,
    household_id TEXT, name TEXT, birth_year INTEGER, phone TEXT, phone_kind TEXT,
    phone_in_own_name INTEGER, chip_id_card INTEGER, notes TEXT,
    deleted INTEGER NOT NULL DEFAULT 0
) STRICT;
CREATE INDEX r_person_by_household ON r_person(household_id);

CREATE TABLE r_visit (
    id TEXT PRIMARY KEY, scope TEXT NOT NULL,
    household_id TEXT, member_id TEXT, device_id TEXT, started_at TEXT, ended_at TEXT,
    outcome TEXT, follow_up_on TEXT, notes TEXT, referred_by TEXT,
    deleted INTEGER NOT NULL DEFAULT 0
) STRICT;
CREATE INDEX r_visit_by_household ON r_visit(household_id, started_at);
CREATE INDEX r_visit_by_scope ON r_visit(scope, started_at);
CREATE INDEX r_visit_by_referrer ON r_visit(referred_by);

CREATE TABLE r_checklist_run (
    id TEXT PRIMARY KEY, scope TEXT NOT NULL,
    visit_id TEXT, person_id TEXT, household_id TEXT, pack_key TEXT, pack_version INTEGER,
    started_at TEXT, deleted INTEGER NOT NULL DEFAULT 0,
    -- derived from its step events and its pack version's steps
    status TEXT NOT NULL DEFAULT 'not_started',
    steps_total INTEGER NOT NULL DEFAULT 0,
    steps_done INTEGER NOT NULL DEFAULT 0,
    steps_skipped INTEGER NOT NULL DEFAULT 0,
    steps_blocked INTEGER NOT NULL DEFAULT 0,
    blocker TEXT,         -- the reason of the latest blocked step still blocked
    -- The latest event of each step, {"step": [hlc, device, outcome, blocker]}:
    -- all a run's progress depends on. Step events are not kept one row each
    -- (a province has millions, with random ids that would slow every ingest).
    latest TEXT NOT NULL DEFAULT '{}'
) STRICT;
CREATE INDEX r_run_by_household ON r_checklist_run(household_id);
CREATE INDEX r_run_by_scope ON r_checklist_run(scope, pack_key, status);
