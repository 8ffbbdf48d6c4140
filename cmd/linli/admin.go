package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/user"
	"strings"
	"time"

	"linli/internal/access"
	"linli/internal/app"
	"linli/internal/auth"
	"linli/internal/db"
)

const adminUsage = `linli admin create-user --username U --role ROLE --division CODE [--name NAME] [--password-stdin]
linli admin token --username U [--name LABEL] [--days 90] [--scope read|"POST /api/v1/…,…"]
linli admin token --revoke TOKEN_ID
linli admin reset-password --username U
linli admin list [--q TEXT]
linli admin open311-key --name NAME --division CODE

角色 / roles: resident, grid_worker, community_worker, officer, provider, sysadmin, secadmin, auditor.
不加 --password-stdin 时生成一次性密码并打印一次，首次登录须修改。
Without --password-stdin a one-time password is generated and printed once; it must be changed at first sign-in.
令牌只打印一次，库中只存其哈希；默认只读（--scope read），或列出允许的 API 操作；编号打印到标准错误，
撤销用 --revoke 编号；修改或重置密码后令牌失效 / the token is printed once and only its hash is stored; it
reads only unless --scope names the API operations it may call; its id goes to standard error, for --revoke;
a password change or reset ends it. 命令行操作以系统用户名记入审计 / console actions are audited with the OS user.

例 / examples:
  echo 'Str0ng-Passw0rd!' | linli admin create-user --username wang --role community_worker --division 330106002051 --password-stdin
  linli admin token --username wang --name 12345-hotline --days 30 --scope "read,POST /api/v1/requests"`

func openApp(e env, name string, args []string, extra func(*flag.FlagSet)) (*app.App, []string, int) {
	cfg, rest, code := loadConfig(e, name, args, extra)
	if code >= 0 {
		return nil, nil, code
	}
	a, err := app.Open(context.Background(), cfg, app.Options{Log: newLogger("warn", nilFile()), Modules: e.modules})
	if err != nil {
		return nil, nil, fail(e, err)
	}
	return a, rest, -1
}

func runAdmin(e env, args []string) int {
	if len(args) == 0 {
		fmt.Fprintln(e.stderr, adminUsage)
		return 2
	}
	sub, args := args[0], args[1:]
	if c, ok := e.family("admin", sub); ok {
		return c.run(e, args)
	}
	var username, role, division, name, q, scope, revoke string
	var passwordStdin bool
	var days int
	a, _, code := openApp(e, "admin "+sub, args, func(fs *flag.FlagSet) {
		fs.StringVar(&username, "username", "", "用户名 / username")
		switch sub {
		case "create-user":
			fs.StringVar(&role, "role", "", "角色 / role")
			fs.StringVar(&division, "division", "", "区划代码 / division code")
			fs.StringVar(&name, "name", "", "姓名 / display name")
			fs.BoolVar(&passwordStdin, "password-stdin", false, "从标准输入读取密码 / read the password from standard input")
		case "token":
			fs.StringVar(&name, "name", "api", "令牌用途 / token label")
			fs.IntVar(&days, "days", 90, "有效天数 / days valid")
			fs.StringVar(&scope, "scope", "read", "范围：read 或 API 操作，逗号分隔 / scope: read or API operations, comma-separated")
			fs.StringVar(&revoke, "revoke", "", "撤销此编号的令牌 / revoke the token with this id")
		case "list":
			fs.StringVar(&q, "q", "", "搜索 / search")
		}
	})
	if code >= 0 {
		return code
	}
	defer a.Close()
	ctx := access.With(context.Background(), operator())
	switch sub {
	case "create-user":
		pw := ""
		if passwordStdin {
			line, err := bufio.NewReader(e.stdin).ReadString('\n')
			if err != nil && line == "" {
				return fail(e, errors.New("未能从标准输入读到密码 / no password on standard input"))
			}
			pw = strings.TrimRight(line, "\r\n")
			if pw == "" {
				return fail(e, errors.New("密码为空 / empty password"))
			}
		}
		u, oneTime, err := a.Auth.Create(ctx, auth.NewUser{Username: username, DisplayName: name, Role: access.Role(role), Division: division, Password: pw})
		if err != nil {
			return fail(e, err)
		}
		fmt.Fprintf(e.stdout, "已创建 / created: %s (%s, %s)\n", u.Username, u.Role, u.Division)
		if oneTime != "" {
			fmt.Fprintf(e.stdout, "一次性密码 / one-time password: %s\n", oneTime)
		}
	case "token":
		if revoke != "" {
			t, err := a.Auth.RevokeToken(ctx, revoke)
			if err != nil {
				return fail(e, err)
			}
			fmt.Fprintf(e.stdout, "已撤销 / revoked: %s (%s, %s)\n", t.ID, t.Username, t.Name)
			return 0
		}
		tok, t, err := a.Auth.IssueToken(ctx, auth.TokenRequest{Username: username, Name: name, Scope: scope, TTL: time.Duration(days) * 24 * time.Hour})
		if errors.Is(err, db.ErrNotFound) {
			return fail(e, fmt.Errorf("账号不存在 / no account %q", username))
		} else if err != nil {
			return fail(e, err)
		}
		fmt.Fprintf(e.stderr, "令牌编号 / token id: %s（范围 / scope: %s）\n", t.ID, t.Scope)
		fmt.Fprintln(e.stdout, tok)
	case "reset-password":
		pw, err := a.Auth.ResetPassword(ctx, username)
		if errors.Is(err, db.ErrNotFound) {
			return fail(e, fmt.Errorf("账号不存在 / no account %q", username))
		} else if err != nil {
			return fail(e, err)
		}
		fmt.Fprintf(e.stdout, "一次性密码 / one-time password: %s\n", pw)
	case "list":
		for off := 0; ; off += 200 {
			us, total, err := a.Auth.List(ctx, q, off, 200)
			if err != nil {
				return fail(e, err)
			}
			if off == 0 {
				fmt.Fprintf(e.stdout, "%-20s %-17s %-13s %s\n", "USERNAME", "ROLE", "DIVISION", "STATE")
			}
			for _, u := range us {
				state := "active"
				switch {
				case u.Disabled:
					state = "disabled"
				case u.PendingApproval:
					state = "awaiting-approval"
				case u.Throttled:
					state = "sign-in-slowed"
				case u.MustChange:
					state = "must-change-password"
				}
				fmt.Fprintf(e.stdout, "%-20s %-17s %-13s %s\n", u.Username, u.Role, u.Division, state)
			}
			if off+200 >= total {
				break
			}
		}
	default:
		fmt.Fprintf(e.stderr, "未知子命令 %q / unknown subcommand %q\n\n%s\n", sub, sub, adminUsage)
		return 2
	}
	return 0
}

// operator is the principal of the console, named after the system user
// who runs the command, so that the audit log says who issued what.
func operator() *access.Principal {
	op := access.Operator()
	name := os.Getenv("SUDO_USER")
	if name == "" {
		if u, err := user.Current(); err == nil {
			name = u.Username
		}
	}
	if name != "" {
		op.Username = "cli:" + name
	}
	return op
}

func runMigrate(e env, args []string) int {
	cfg, _, code := loadConfig(e, "migrate", args, nil)
	if code >= 0 {
		return code
	}
	a, err := app.Open(context.Background(), cfg, app.Options{Log: newLogger("warn", nilFile()), Modules: e.modules})
	if err != nil {
		return fail(e, err)
	}
	defer a.Close()
	if role, super, err := a.DB.Superuser(context.Background()); err != nil {
		return fail(e, err)
	} else if super {
		fmt.Fprintf(e.stderr, "警告 / warning: 数据库角色 %s 是超级用户，可停用审计表的触发器；服务请用既非超级用户、也非表属主的角色运行（见 README）/ the database role %s is a superuser and can disable the audit log's triggers; run the server as a role that is neither a superuser nor the tables' owner (see README)\n", role, role)
	}
	for _, id := range a.Applied {
		fmt.Fprintln(e.stdout, "applied "+id)
	}
	fmt.Fprintf(e.stdout, "迁移完成，已加载区划 %d / migrations up to date, divisions loaded this run: %d\n", a.Loaded, a.Loaded)
	return 0
}

func runAudit(e env, args []string) int {
	if len(args) == 0 || (args[0] != "verify" && args[0] != "rebase") {
		fmt.Fprintln(e.stderr, auditUsage)
		return 2
	}
	a, _, code := openApp(e, "audit "+args[0], args[1:], nil)
	if code >= 0 {
		return code
	}
	defer a.Close()
	ctx := context.Background()
	if args[0] == "rebase" {
		c, err := a.Audit.Rebase(ctx)
		if err != nil {
			return fail(e, err)
		}
		fmt.Fprintf(e.stdout, "已以当前审计链（%d 条）为新基线 / the current audit chain (%d entries) is the new baseline\n", c.Seq, c.Seq)
		return 0
	}
	v, err := a.Audit.Check(ctx)
	if err != nil {
		return fail(e, err)
	}
	fmt.Fprintf(e.stdout, "审计链完整，共 %d 条 / audit chain intact: %d entries\n", v.Entries, v.Entries)
	if c := v.Checkpoint; c != nil {
		at := c.At.Format(time.RFC3339)
		fmt.Fprintf(e.stdout, "与 %s 的检查点（%d 条）一致 / consistent with the checkpoint of %s (%d entries)\n", at, c.Seq, at, c.Seq)
	} else {
		fmt.Fprintln(e.stderr, "警告 / warning: 尚无审计检查点，无法发现链尾被截断；本次校验后写入 / no audit checkpoint yet, so a cut tail cannot be seen; one is written after this check")
	}
	return 0
}

func runVersion(e env, args []string) int {
	fmt.Fprintln(e.stdout, "linli "+app.Version)
	return 0
}
