package deliberation

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"linli/internal/access"
	"linli/internal/audit"
	"linli/internal/db"
	"linli/internal/fault"
	"linli/internal/keyset"
)

// Electorates of a vote.
const (
	ElectorateCouncil    = "council"    // the council's members
	ElectorateHouseholds = "households" // every household in the topic's affected area
)

// Outcomes of a counted vote.
const (
	Passed     = "passed"      // an option won under the majority rule
	NoMajority = "no_majority" // quorum reached, no option won
	NoQuorum   = "no_quorum"   // too few took part: no decision
)

// Vote is a ballot on a topic.
type Vote struct {
	ID             string    `json:"id"`
	TopicID        string    `json:"topic_id"`
	Division       string    `json:"division_code"`
	Electorate     string    `json:"electorate"`
	Secret         bool      `json:"secret"`
	Options        []string  `json:"options"`
	OpensAt        time.Time `json:"opens_at"`
	ClosesAt       time.Time `json:"closes_at"`
	QuorumPM       int       `json:"quorum_pm"`
	Majority       string    `json:"majority"`
	ElectorateSize int       `json:"electorate_size"`
	Result         *Result   `json:"result,omitempty"`
}

// Result is a vote's count, made when its window has closed.
type Result struct {
	Outcome string         `json:"outcome"`
	Winner  string         `json:"winner,omitempty"`
	Voted   int            `json:"voted"`
	Counts  map[string]int `json:"counts"`
	Head    string         `json:"head"` // the hash of the last ballot: the chain the count was made over
}

// OutcomeText is the outcome in words.
func (r Result) OutcomeText() fault.Msg {
	switch r.Outcome {
	case Passed:
		return fault.M("通过："+r.Winner, "passed: "+r.Winner)
	case NoMajority:
		return fault.M("未形成多数", "no majority")
	}
	return fault.M("未达法定人数，不作决定", "quorum not reached: no decision")
}

// VoteInput opens a vote on a topic.
type VoteInput struct {
	TopicID    string    `json:"topic_id"`
	Electorate string    `json:"electorate"`
	Secret     bool      `json:"secret"`
	Options    []string  `json:"options"`
	OpensAt    time.Time `json:"opens_at"`
	ClosesAt   time.Time `json:"closes_at"`
}

// OpenVote sets up a vote on an accepted or deliberating topic with the
// council's quorum and majority rule.
func (s *Store) OpenVote(ctx context.Context, in VoteInput) (Vote, error) {
	p := access.From(ctx)
	if !worker(p) {
		return Vote{}, fault.Forbidden(fault.M("只有社区工作者或干部可以发起表决", "only community workers and officers open votes"))
	}
	var fields []fault.FieldError
	if in.Electorate != ElectorateCouncil && in.Electorate != ElectorateHouseholds {
		fields = append(fields, fault.Field("electorate", fault.M("投票人为议事会成员（council）或涉及范围内各户（households）", "the electorate is council or households")))
	}
	seen := map[string]bool{}
	for i, o := range in.Options {
		o = text(fmt.Sprintf("options[%d]", i), o, 40, true, &fields)
		if seen[o] {
			fields = append(fields, fault.Field(fmt.Sprintf("options[%d]", i), fault.M("选项重复", "the option is listed twice")))
		}
		seen[o], in.Options[i] = true, o
	}
	if len(in.Options) < 2 || len(in.Options) > 10 {
		fields = append(fields, fault.Field("options", fault.M("请列出 2–10 个选项", "list 2–10 options")))
	}
	now := s.Now()
	if in.OpensAt.IsZero() {
		in.OpensAt = now
	}
	if !in.ClosesAt.After(in.OpensAt) {
		fields = append(fields, fault.Field("closes_at", fault.M("截止时间应晚于开始时间", "the vote must close after it opens")))
	} else if !in.ClosesAt.After(now) {
		fields = append(fields, fault.Field("closes_at", fault.M("截止时间已过", "the closing time has passed")))
	}
	if len(fields) > 0 {
		return Vote{}, invalid(fields...)
	}
	id := db.NewID()
	err := s.DB.Tx(ctx, func(tx *sql.Tx) error {
		t, err := s.readTopic(ctx, tx, in.TopicID)
		if err != nil || !access.BusinessScope(p).Contains(t.Division) {
			return invalid(fault.Field("topic_id", fault.M("辖区内没有这个议题", "no such topic in your jurisdiction")))
		}
		if t.Status != Accepted && t.Status != Deliberating {
			return fault.Conflict(fault.M("只有已受理或协商中的议题可以表决", "only an accepted or deliberating topic can be put to a vote"))
		}
		var open int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM dlb_votes WHERE topic_id = $1 AND result = ''`, t.ID).Scan(&open); err != nil {
			return err
		}
		if open > 0 {
			return fault.Conflict(fault.M("这个议题已有一场表决在进行", "the topic already has a vote under way"))
		}
		c, err := s.Council(ctx, t.CouncilID)
		if err != nil {
			return err
		}
		size := len(c.Members)
		if in.Electorate == ElectorateHouseholds {
			if size, err = s.areaSize(ctx, tx, t); err != nil {
				return err
			}
		}
		if size == 0 {
			return fault.Conflict(fault.M("投票人为空", "the electorate is empty"))
		}
		opts, _ := json.Marshal(in.Options)
		if _, err := tx.ExecContext(ctx, `INSERT INTO dlb_votes (id, topic_id, division_code, electorate, secret, options, opens_at, closes_at, quorum_pm, majority, electorate_size, created_by, created_at)
			VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13)`, id, t.ID, t.Division, in.Electorate, in.Secret, string(opts), db.T(in.OpensAt), db.T(in.ClosesAt),
			c.QuorumPM, c.Majority, size, p.Username, db.T(now)); err != nil {
			return err
		}
		if t.Status == Accepted {
			if err := s.move(ctx, tx, t, "deliberate", []string{Accepted}, Deliberating, ""); err != nil {
				return err
			}
		}
		return s.Audit.RecordTx(ctx, tx, audit.Entry{Action: "deliberation.vote_open", Object: "vote", ObjectID: id, Division: t.Division,
			Detail: fmt.Sprintf("%s, %d voters, secret %t", in.Electorate, size, in.Secret)})
	})
	if err != nil {
		return Vote{}, err
	}
	return s.Vote(ctx, id)
}

func (s *Store) readVote(ctx context.Context, q rowQuerier, id string) (Vote, error) {
	var v Vote
	var opts, result string
	var opens, closes db.Time
	err := q.QueryRowContext(ctx, `SELECT id, topic_id, division_code, electorate, secret, options, opens_at, closes_at, quorum_pm, majority, electorate_size, result FROM dlb_votes WHERE id = $1`, id).
		Scan(&v.ID, &v.TopicID, &v.Division, &v.Electorate, &v.Secret, &opts, &opens, &closes, &v.QuorumPM, &v.Majority, &v.ElectorateSize, &result)
	if errors.Is(err, sql.ErrNoRows) {
		return v, errNotFound
	} else if err != nil {
		return v, err
	}
	v.OpensAt, v.ClosesAt = opens.Time, closes.Time
	if err := json.Unmarshal([]byte(opts), &v.Options); err != nil {
		return v, err
	}
	if result != "" {
		v.Result = &Result{}
		if err := json.Unmarshal([]byte(result), v.Result); err != nil {
			return v, err
		}
	}
	return v, nil
}

// Vote reads a vote; once its window has closed the first reader counts
// it, so the result is there when the window closes whoever looks first.
func (s *Store) Vote(ctx context.Context, id string) (Vote, error) {
	v, err := s.readVote(ctx, s.DB.R, id)
	if err != nil {
		return v, err
	}
	if !s.sees(ctx, v.Division) {
		return Vote{}, errNotFound
	}
	if v.Result == nil && !s.Now().Before(v.ClosesAt) {
		if err := s.count(ctx, id); err != nil {
			return v, err
		}
		return s.readVote(ctx, s.DB.R, id)
	}
	return v, nil
}

// count tallies a closed vote's ballots under its quorum and majority
// rule and keeps the result; a vote already counted is left as it is.
func (s *Store) count(ctx context.Context, id string) error {
	return s.DB.Tx(ctx, func(tx *sql.Tx) error {
		if err := s.lockVote(ctx, tx, id); err != nil {
			return err
		}
		v, err := s.readVote(ctx, tx, id)
		if err != nil || v.Result != nil {
			return err
		}
		if v.Secret {
			if err := s.unseal(ctx, tx, id); err != nil {
				return err
			}
		}
		ballots, err := s.ballots(ctx, tx, id)
		if err != nil {
			return err
		}
		r := Tally(v, ballots)
		raw, _ := json.Marshal(r)
		if _, err := tx.ExecContext(ctx, `UPDATE dlb_votes SET result = $2, counted_at = $3 WHERE id = $1 AND result = ''`, id, string(raw), db.T(s.Now())); err != nil {
			return err
		}
		return s.Audit.RecordTx(ctx, tx, audit.Entry{Action: "deliberation.vote_count", Object: "vote", ObjectID: id, Division: v.Division, Detail: string(raw)})
	})
}

// unseal moves a secret vote's sealed ballots onto its chain in the
// order of their random tokens and empties the box.
func (s *Store) unseal(ctx context.Context, tx *sql.Tx, id string) error {
	choices, err := db.Collect(ctx, tx, func(r db.Scanner) (string, error) {
		var c string
		return c, r.Scan(&c)
	}, `SELECT choice FROM dlb_box WHERE vote_id = $1 ORDER BY token`, id)
	if err != nil {
		return err
	}
	prev := ""
	for i, c := range choices {
		b := Ballot{Seq: i + 1, Choice: c, Prev: prev}
		b.Hash = BallotHash(id, b)
		if _, err := tx.ExecContext(ctx, `INSERT INTO dlb_ballots (vote_id, seq, choice, voter, prev_hash, hash) VALUES ($1,$2,$3,'',$4,$5)`, id, b.Seq, b.Choice, b.Prev, b.Hash); err != nil {
			return err
		}
		prev = b.Hash
	}
	_, err = tx.ExecContext(ctx, `DELETE FROM dlb_box WHERE vote_id = $1`, id)
	return err
}

// Tally counts ballots under a vote's rules: the same function counts the
// store's rows and anyone's export.
func Tally(v Vote, ballots []Ballot) Result {
	r := Result{Counts: map[string]int{}, Voted: len(ballots), Outcome: NoMajority}
	for _, o := range v.Options {
		r.Counts[o] = 0
	}
	for _, b := range ballots {
		r.Counts[b.Choice]++
		r.Head = b.Hash
	}
	if r.Voted*1000 < v.QuorumPM*v.ElectorateSize {
		r.Outcome = NoQuorum
		return r
	}
	best, tie := "", false
	for _, o := range v.Options {
		switch {
		case best == "" || r.Counts[o] > r.Counts[best]:
			best, tie = o, false
		case r.Counts[o] == r.Counts[best]:
			tie = true
		}
	}
	n := r.Counts[best]
	won := n*2 > r.Voted
	if v.Majority == MajorityTwoThirds {
		won = n*3 >= v.ElectorateSize*2
	}
	if won && !tie {
		r.Outcome, r.Winner = Passed, best
	}
	return r
}

// Ballot is one entry of a vote's chain. Voter is empty on a secret
// ballot: who voted is kept apart, in dlb_voters, and the secret ballots
// enter the chain at the count in a shuffled order.
type Ballot struct {
	Seq    int    `json:"seq"`
	Choice string `json:"choice"`
	Voter  string `json:"voter,omitempty"`
	Prev   string `json:"prev_hash"`
	Hash   string `json:"hash"`
}

// BallotHash chains a ballot to the one before it.
func BallotHash(voteID string, b Ballot) string {
	sum := sha256.Sum256([]byte(strings.Join([]string{b.Prev, voteID, strconv.Itoa(b.Seq), b.Choice, b.Voter}, "\x1f")))
	return hex.EncodeToString(sum[:])
}

func (s *Store) ballots(ctx context.Context, q db.Querier, id string) ([]Ballot, error) {
	return db.Collect(ctx, q, func(r db.Scanner) (Ballot, error) {
		var b Ballot
		err := r.Scan(&b.Seq, &b.Choice, &b.Voter, &b.Prev, &b.Hash)
		return b, err
	}, `SELECT seq, choice, voter, prev_hash, hash FROM dlb_ballots WHERE vote_id = $1 ORDER BY seq`, id)
}

// BallotInput is one cast ballot.
type BallotInput struct {
	Choice string `json:"choice"`
	// HouseholdID: a worker casting for a household by proxy names it; a
	// resident votes for their own.
	HouseholdID string `json:"household_id,omitempty"`
	// ProxyName and ProxyConsent: the proxy who casts for an elderly or
	// disabled member, and that member's recorded consent.
	ProxyName    string `json:"proxy_name,omitempty"`
	ProxyConsent bool   `json:"proxy_consent,omitempty"`
}

// Receipt is what a voter gets back: on an open ballot, its place in the
// chain; on a secret one only that it is sealed, as a place or a token
// would let whoever holds the receipt learn the choice.
type Receipt struct {
	VoteID string `json:"vote_id"`
	Seq    int    `json:"seq,omitempty"`
	Hash   string `json:"hash,omitempty"`
	Sealed bool   `json:"sealed,omitempty"`
}

// sealToken is a sealed ballot's key in the box: random, so that the box
// read in key order is shuffled.
func sealToken() (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	return hex.EncodeToString(b[:]), nil
}

// lockVote holds a vote's row until the transaction ends (PostgreSQL; a
// SQLite transaction already excludes every other writer).
func (s *Store) lockVote(ctx context.Context, tx *sql.Tx, id string) error {
	if s.DB.Dialect != db.Postgres {
		return nil
	}
	_, err := tx.ExecContext(ctx, `SELECT id FROM dlb_votes WHERE id = $1 FOR UPDATE`, id)
	return err
}

// Cast records one ballot: one per household (or council member), within
// the window, from the electorate, a proxy only with consent.
func (s *Store) Cast(ctx context.Context, id string, in BallotInput) (Receipt, error) {
	p := access.From(ctx)
	if p == nil || !(p.Role == access.Resident || worker(p)) {
		return Receipt{}, fault.Forbidden(fault.M("只有居民或代为投票的工作人员可以投票", "only residents, or workers casting by proxy, may vote"))
	}
	var fields []fault.FieldError
	in.ProxyName = text("proxy_name", in.ProxyName, 40, p.Role != access.Resident, &fields)
	if in.ProxyName != "" && !in.ProxyConsent {
		fields = append(fields, fault.Field("proxy_consent", fault.M("代投须记录本人同意", "a proxy vote needs the member's recorded consent")))
	}
	if len(fields) > 0 {
		return Receipt{}, invalid(fields...)
	}
	now := s.Now()
	// What the ballot is checked against is read before its group: only
	// the writes hold the vote and the audit chain.
	v, err := s.readVote(ctx, s.DB.R, id)
	if err != nil {
		return Receipt{}, err
	}
	found := false
	for _, o := range v.Options {
		found = found || o == in.Choice
	}
	if !found {
		return Receipt{}, invalid(fault.Field("choice", fault.M("没有这个选项", "no such option")))
	}
	closed := invalid(fault.Field("closes_at", fault.M("不在投票时间内（"+v.OpensAt.In(cst).Format("01-02 15:04")+" 至 "+v.ClosesAt.In(cst).Format("01-02 15:04")+"）",
		"outside the voting window")))
	if now.Before(v.OpensAt) || !now.Before(v.ClosesAt) || v.Result != nil {
		return Receipt{}, closed
	}
	voter, err := s.voter(ctx, s.DB.R, p, v, in)
	if err != nil {
		return Receipt{}, err
	}
	var rc Receipt
	err = s.casts.Run(ctx, s.DB, func(ctx context.Context, tx *sql.Tx) ([]audit.Item, error) {
		// The vote's row is held from here to the commit, so a ballot and
		// the count never interleave: SQLite has one writer, PostgreSQL
		// serialises them on the row (count takes it too), and a vote
		// counted meanwhile takes no more ballots.
		if err := s.lockVote(ctx, tx, id); err != nil {
			return nil, err
		}
		var result string
		if err := tx.QueryRowContext(ctx, `SELECT result FROM dlb_votes WHERE id = $1`, id).Scan(&result); err != nil {
			return nil, err
		}
		if result != "" {
			return nil, closed
		}
		res, err := tx.ExecContext(ctx, `INSERT INTO dlb_voters (vote_id, voter, proxy_name, proxy_consent) VALUES ($1,$2,$3,$4) ON CONFLICT DO NOTHING`, id, voter, in.ProxyName, in.ProxyConsent)
		if err != nil {
			return nil, err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil, fault.Conflict(fault.M("这一户（成员）已经投过票", "this household (member) has already voted"))
		}
		detail := "ballot"
		if in.ProxyName != "" {
			detail = "proxy ballot by " + in.ProxyName + ", consent recorded"
		}
		entry := []audit.Item{{Ctx: ctx, Entry: audit.Entry{Action: "deliberation.ballot", Object: "vote", ObjectID: id, Division: v.Division, Detail: detail}}}
		if v.Secret {
			token, err := sealToken()
			if err != nil {
				return nil, err
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO dlb_box (vote_id, token, choice) VALUES ($1,$2,$3)`, id, token, in.Choice); err != nil {
				return nil, err
			}
			rc = Receipt{VoteID: id, Sealed: true}
			return entry, nil
		}
		b := Ballot{Choice: in.Choice, Voter: voter}
		if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(seq), 0) + 1, COALESCE((SELECT hash FROM dlb_ballots WHERE vote_id = $1 ORDER BY seq DESC LIMIT 1), '') FROM dlb_ballots WHERE vote_id = $1`, id).
			Scan(&b.Seq, &b.Prev); err != nil {
			return nil, err
		}
		b.Hash = BallotHash(id, b)
		if _, err := tx.ExecContext(ctx, `INSERT INTO dlb_ballots (vote_id, seq, choice, voter, prev_hash, hash) VALUES ($1,$2,$3,$4,$5,$6)`, id, b.Seq, b.Choice, b.Voter, b.Prev, b.Hash); err != nil {
			return nil, err
		}
		rc = Receipt{VoteID: id, Seq: b.Seq, Hash: b.Hash}
		return entry, nil
	}, s.recordAll)
	return rc, err
}

// recordAll appends a group's audit entries under one lock of the chain.
func (s *Store) recordAll(ctx context.Context, tx *sql.Tx, done [][]audit.Item) error {
	var items []audit.Item
	for _, d := range done {
		items = append(items, d...)
	}
	return s.Audit.RecordAllTx(ctx, tx, items)
}

// voter is who casts: a household of the affected area, or a council
// member, as the vote's electorate says.
func (s *Store) voter(ctx context.Context, tx rowQuerier, p *access.Principal, v Vote, in BallotInput) (string, error) {
	t, err := s.readTopic(ctx, tx, v.TopicID)
	if err != nil {
		return "", err
	}
	outside := fault.Forbidden(fault.M("您不在这场表决的投票人范围内", "you are not in this vote's electorate"))
	if v.Electorate == ElectorateCouncil {
		var member string
		if p.Role != access.Resident {
			return "", fault.Forbidden(fault.M("议事会表决由成员本人投票", "council members vote in person"))
		}
		err := tx.QueryRowContext(ctx, `SELECT id FROM dlb_members WHERE council_id = $1 AND username = $2`, t.CouncilID, p.Username).Scan(&member)
		if errors.Is(err, sql.ErrNoRows) {
			return "", outside
		}
		return member, err
	}
	hh := in.HouseholdID
	if p.Role == access.Resident {
		own, _, err := s.household(ctx, p)
		if err != nil {
			return "", err
		}
		if hh != "" && hh != own {
			return "", fault.Forbidden(fault.M("只能为本户投票", "you may vote only for your own household"))
		}
		hh = own
	} else if !access.BusinessScope(p).Contains(v.Division) {
		return "", errNotFound
	}
	if ok, err := s.inArea(ctx, tx, t, hh); err != nil {
		return "", err
	} else if !ok {
		if p.Role != access.Resident {
			return "", invalid(fault.Field("household_id", fault.M("这一户不在议题涉及的范围内", "the household is outside the topic's affected area")))
		}
		return "", outside
	}
	return hh, nil
}

// Export is everything a recount needs: the vote's rules and its chain.
type Export struct {
	Vote    Vote     `json:"vote"`
	Ballots []Ballot `json:"ballots"`
}

// Export reads a vote's chain for anyone in its community to recount.
func (s *Store) Export(ctx context.Context, id string) (Export, error) {
	v, err := s.Vote(ctx, id)
	if err != nil {
		return Export{}, err
	}
	bs, err := s.ballots(ctx, s.DB.R, id)
	if err != nil {
		return Export{}, err
	}
	res := v.Result
	v.Result = nil
	if err := s.Audit.Record(ctx, audit.Entry{Action: "deliberation.vote_export", Object: "vote", ObjectID: id, Division: v.Division}); err != nil {
		return Export{}, err
	}
	v.Result = res
	return Export{Vote: v, Ballots: bs}, nil
}

// ChainCheck is the verdict of a chain check.
type ChainCheck struct {
	OK      bool   `json:"ok"`
	Ballots int    `json:"ballots"`
	Voters  int    `json:"voters"`
	Sealed  int    `json:"sealed,omitempty"`  // secret ballots in the box until the count
	BadSeq  int    `json:"bad_seq,omitempty"` // the first ballot whose hash does not hold
	Problem string `json:"problem,omitempty"`
}

// VerifyChain recomputes every ballot's hash from its row and checks the
// links and that ballots and voters are as many.
func VerifyChain(voteID string, bs []Ballot, voters int) ChainCheck {
	c := ChainCheck{OK: true, Ballots: len(bs), Voters: voters}
	prev := ""
	for i, b := range bs {
		if b.Seq != i+1 || b.Prev != prev || BallotHash(voteID, b) != b.Hash {
			return ChainCheck{Ballots: len(bs), Voters: voters, BadSeq: b.Seq, Problem: "hash"}
		}
		prev = b.Hash
	}
	if voters != len(bs) {
		c.OK, c.Problem = false, "count"
	}
	return c
}

// Verify checks a vote's stored chain.
func (s *Store) Verify(ctx context.Context, id string) (ChainCheck, error) {
	v, err := s.Vote(ctx, id)
	if err != nil {
		return ChainCheck{}, err
	}
	bs, err := s.ballots(ctx, s.DB.R, id)
	if err != nil {
		return ChainCheck{}, err
	}
	var voters, sealed int
	if err := s.DB.R.QueryRowContext(ctx, `SELECT (SELECT COUNT(*) FROM dlb_voters WHERE vote_id = $1), (SELECT COUNT(*) FROM dlb_box WHERE vote_id = $1)`, v.ID).Scan(&voters, &sealed); err != nil {
		return ChainCheck{}, err
	}
	c := VerifyChain(id, bs, voters-sealed)
	c.Voters, c.Sealed = voters, sealed
	if c.OK && v.Result != nil && len(bs) > 0 && v.Result.Head != bs[len(bs)-1].Hash {
		c.OK, c.Problem = false, "head"
	}
	return c, nil
}

var cst = time.FixedZone("CST", 8*3600)

// VotePage is one page of votes.
type VotePage struct {
	Items []Vote `json:"items"`
	Next  string `json:"next,omitempty"`
}

// Votes lists the votes of a division the user may see, the latest first,
// paged by key; a closed vote is shown counted.
func (s *Store) Votes(ctx context.Context, division, cursor string, size int) (VotePage, error) {
	if !s.sees(ctx, division) {
		return VotePage{}, fault.Invalid(fault.M("参数有误", "bad parameter"), fault.Field("division_code", fault.M("不在您的辖区内", "outside your jurisdiction")))
	}
	sc := access.Subtree(division)
	q := `SELECT id FROM dlb_votes WHERE division_code >= $1 AND division_code < $2`
	args := []any{sc.Lo, sc.Hi}
	list := "dlb_votes:" + division
	if cursor != "" {
		k, err := keyset.Open(s.Keys, cursor, list, 1)
		if err != nil {
			return VotePage{}, err
		}
		q += ` AND id < $3`
		args = append(args, k[0])
	}
	ids, err := db.Collect(ctx, s.DB.R, db.Value[string], q+fmt.Sprintf(` ORDER BY id DESC LIMIT %d`, size+1), args...)
	if err != nil {
		return VotePage{}, err
	}
	pg := VotePage{Items: []Vote{}}
	if len(ids) > size {
		ids = ids[:size]
		pg.Next = keyset.Seal(s.Keys, list, ids[size-1])
	}
	for _, id := range ids {
		v, err := s.Vote(ctx, id)
		if errors.Is(err, errNotFound) {
			continue // a resident's township listing holds its other communities' votes
		} else if err != nil {
			return VotePage{}, err
		}
		pg.Items = append(pg.Items, v)
	}
	return pg, nil
}
