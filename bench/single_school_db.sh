#!/bin/sh
# Copy one school of a PostgreSQL database into a new database, for bench/report_speed.py.
#
# The schema comes from pg_dump in two parts: tables first, then indexes and foreign keys
# after the rows, so the rows load without per-row checks and the keys are checked once.
# Tables with a school_id column keep that school's rows. Link tables without one keep the
# rows of kept parents. Roles, permissions and authorities are copied whole. Logins are
# copied when they belong to the school or to no school at all. The source is only read.
#
# The server and user come from the usual libpq variables (PGHOST, PGUSER, ...).
# Usage: bench/single_school_db.sh SOURCE_DB TARGET_DB SCHOOL_ID
# Example: PGHOST=127.0.0.1 PGUSER=postgres bench/single_school_db.sh school_city_fullyear rbench_single 1
set -eu
source_db=$1
target_db=$2
school=$3

psql -v ON_ERROR_STOP=1 -d postgres -c "CREATE DATABASE $target_db"
pg_dump --section=pre-data "$source_db" | psql -q -v ON_ERROR_STOP=1 -d "$target_db"

copy() {
    # copy TABLE SELECT: rows of the SELECT on the source into TABLE of the target.
    psql -v ON_ERROR_STOP=1 -d "$source_db" -c "COPY ($2) TO STDOUT" \
        | psql -v ON_ERROR_STOP=1 -d "$target_db" -c "COPY $1 FROM STDIN"
}
members="SELECT user_id FROM membership WHERE school_id = $school"
others="SELECT user_id FROM membership WHERE school_id <> $school"

tables=$(psql -At -d "$source_db" -c "
    SELECT t.table_name FROM information_schema.tables t
    WHERE t.table_schema = 'public' AND t.table_type = 'BASE TABLE'
    ORDER BY t.table_name")
for table in $tables; do
    has_school=$(psql -At -d "$source_db" -c "
        SELECT count(*) FROM information_schema.columns
        WHERE table_schema = 'public' AND table_name = '$table' AND column_name = 'school_id'")
    case $table in
        school) query="SELECT * FROM school WHERE id = $school" ;;
        ab_user) query="SELECT * FROM ab_user WHERE id IN ($members) OR id NOT IN ($others)" ;;
        ab_user_role | ab_user_group | ab_register_user | ab_api_key | login_state)
            query="SELECT * FROM $table WHERE user_id IN (SELECT id FROM ab_user WHERE id IN ($members) OR id NOT IN ($others))"
            [ "$table" = ab_register_user ] && query="SELECT * FROM $table" ;;
        course_teacher) query="SELECT * FROM course_teacher WHERE course_id IN (SELECT id FROM course WHERE school_id = $school)" ;;
        membership_role) query="SELECT * FROM membership_role WHERE membership_id IN (SELECT id FROM membership WHERE school_id = $school)" ;;
        vacation_class) query="SELECT * FROM vacation_class WHERE vacation_id IN (SELECT id FROM vacation WHERE school_id = $school)" ;;
        study_group_student) query="SELECT * FROM study_group_student WHERE group_id IN (SELECT id FROM study_group WHERE school_id = $school)" ;;
        *)
            if [ "$has_school" = 1 ]; then
                query="SELECT * FROM $table WHERE school_id = $school"
            else
                query="SELECT * FROM $table"
            fi ;;
    esac
    echo "$table"
    copy "$table" "$query"
done

pg_dump --section=post-data "$source_db" | psql -q -v ON_ERROR_STOP=1 -d "$target_db"
# NOTE: the sequences start from 1 again (their values are in pg_dump's data section); the
# bench inserts no rows, so this is left as is.
psql -v ON_ERROR_STOP=1 -d "$target_db" -c "VACUUM ANALYZE"
