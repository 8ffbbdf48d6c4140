package registry

// Effective dating. What a unit had at a date — its facilities with their
// category, status, floor area and capacities, its personnel with roles and
// certificates, its organisations — must stay answerable after later
// changes: the indicators of 2023 do not move when a facility is enlarged
// or closed in 2024. Each of the three tables keeps a version table, filled
// by database triggers on both stores (so that no write path can forget
// it): a row's version is valid from its creation or change (created_at /
// updated_at) until the next change or its deletion. A query as of time T
// reads the versions with valid_from ≤ T < valid_to (or valid_to null).
//
// Deletes stamp updated_at first (deleteScoped), so that a deleted row's
// last version ends at the moment of deletion by the application's clock.

import (
	"fmt"
	"strings"

	"linli/internal/db"
)

type versioned struct {
	table, versions string
	cols            []string // the tracked columns; a change of another column makes no version
	types           []string
}

var versionedTables = []versioned{
	{"reg_facilities", "reg_facility_versions", []string{"division_code", "category", "status", "floor_area", "capacities"},
		[]string{"TEXT NOT NULL", "TEXT NOT NULL", "TEXT NOT NULL", "DOUBLE PRECISION NOT NULL", "TEXT NOT NULL"}},
	{"reg_personnel", "reg_personnel_versions", []string{"division_code", "roles", "attrs"},
		[]string{"TEXT NOT NULL", "TEXT NOT NULL", "TEXT NOT NULL"}},
	{"reg_organizations", "reg_organization_versions", []string{"division_code", "kind", "party_share"},
		[]string{"TEXT NOT NULL", "TEXT NOT NULL", "DOUBLE PRECISION"}},
}

func isVersioned(table string) bool {
	for _, v := range versionedTables {
		if v.table == table {
			return true
		}
	}
	return false
}

// versionsMigration creates the version tables, fills them from the rows
// that exist (valid from their creation) and adds the triggers.
func versionsMigration() db.Migration {
	var common, lite, pg strings.Builder
	for _, v := range versionedTables {
		cols := strings.Join(v.cols, ", ")
		newCols := "NEW." + strings.Join(v.cols, ", NEW.")
		oldCols := "OLD." + strings.Join(v.cols, ", OLD.")
		fmt.Fprintf(&common, "CREATE TABLE %s (\n\tid TEXT NOT NULL,\n\tvalid_from TIMESTAMPTZ NOT NULL,\n\tvalid_to TIMESTAMPTZ", v.versions)
		for i, c := range v.cols {
			fmt.Fprintf(&common, ",\n\t%s %s", c, v.types[i])
		}
		common.WriteString("\n);\n")
		fmt.Fprintf(&common, "CREATE INDEX %s_id ON %s (id, valid_to);\n", v.versions, v.versions)
		fmt.Fprintf(&common, "CREATE INDEX %s_div ON %s (division_code, valid_from);\n", v.versions, v.versions)
		fmt.Fprintf(&common, "INSERT INTO %s (id, valid_from, valid_to, %s) SELECT id, created_at, NULL, %s FROM %s;\n", v.versions, cols, cols, v.table)

		insertNew := func(from string) string {
			return fmt.Sprintf("INSERT INTO %s (id, valid_from, valid_to, %s) VALUES (NEW.id, %s, NULL, %s);", v.versions, cols, from, newCols)
		}
		closeAt := func(rec, at string) string {
			return fmt.Sprintf("UPDATE %s SET valid_to = %s.%s WHERE id = %s.id AND valid_to IS NULL;", v.versions, rec, at, rec)
		}
		var changed []string
		for _, c := range v.cols {
			changed = append(changed, "OLD."+c+" IS NOT NEW."+c)
		}
		fmt.Fprintf(&lite, "CREATE TRIGGER %s_v_insert AFTER INSERT ON %s BEGIN\n\t%s\nEND;\n", v.table, v.table, insertNew("NEW.created_at"))
		fmt.Fprintf(&lite, "CREATE TRIGGER %s_v_update AFTER UPDATE ON %s WHEN %s BEGIN\n\t%s\n\t%s\nEND;\n",
			v.table, v.table, strings.Join(changed, " OR "), closeAt("NEW", "updated_at"), insertNew("NEW.updated_at"))
		fmt.Fprintf(&lite, "CREATE TRIGGER %s_v_delete AFTER DELETE ON %s BEGIN\n\t%s\nEND;\n", v.table, v.table, closeAt("OLD", "updated_at"))

		fmt.Fprintf(&pg, `CREATE FUNCTION %[1]s_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	IF TG_OP = 'DELETE' THEN
		%[2]s
		RETURN OLD;
	ELSIF TG_OP = 'UPDATE' THEN
		IF ROW(%[3]s) IS NOT DISTINCT FROM ROW(%[4]s) THEN
			RETURN NEW;
		END IF;
		%[5]s
		%[6]s
	ELSE
		%[7]s
	END IF;
	RETURN NEW;
END;
$$;
CREATE TRIGGER %[1]s_version AFTER INSERT OR UPDATE OR DELETE ON %[1]s FOR EACH ROW EXECUTE FUNCTION %[1]s_version();
`, v.table, closeAt("OLD", "updated_at"), oldCols, newCols, closeAt("NEW", "updated_at"), insertNew("NEW.updated_at"), insertNew("NEW.created_at"))
	}
	return db.Migration{ID: "registry/004_versions", SQLiteSQL: common.String() + lite.String(), PostgresSQL: common.String() + pg.String()}
}
