// Package config reads Linli's settings from flags and LINLI_* environment
// variables (a flag wins over the variable) and checks every value at start.
package config

import (
	"errors"
	"flag"
	"fmt"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"
)

// Config is the platform's settings.
type Config struct {
	Addr          string        // LINLI_ADDR
	DataDir       string        // LINLI_DATA_DIR
	DatabaseURL   string        // LINLI_DATABASE_URL: PostgreSQL when set
	DataKey       string        // LINLI_DATA_KEY
	SessionIdle   time.Duration // LINLI_SESSION_IDLE
	SessionMax    time.Duration // LINLI_SESSION_MAX
	SecureCookies bool          // LINLI_SECURE_COOKIES
	TrustProxy    bool          // LINLI_TRUST_PROXY
	MaxBody       int64         // LINLI_MAX_BODY (bytes)
	LogLevel      string        // LINLI_LOG_LEVEL
	Demo          bool          // --demo
	// Modules are the modules' own settings by variable name (see Setting).
	Modules Values

	settings []Setting
}

// Setting is one of a module's own settings: a variable, optionally a
// flag, a default and a check. The module declares it; config reads and
// checks it with the core's settings and reports it by name when bad.
type Setting struct {
	Env     string // LINLI_…
	Flag    string // flag name without dashes; empty: variable only
	Default string
	Usage   string // bilingual
	// Check returns why v is wrong (nil: fine); all holds every module
	// setting, for checks across two of them.
	Check func(v string, all Values) error
}

// Values are settings' values by variable name.
type Values map[string]string

// Get returns a setting's value.
func (v Values) Get(env string) string { return v[env] }

// Float returns a setting's value as a number (0 when it is not one; a
// setting whose Check parses it is never that).
func (v Values) Float(env string) float64 {
	f, _ := strconv.ParseFloat(strings.TrimSpace(v[env]), 64)
	return f
}

// Defaults are the settings of a fresh laptop install.
func Defaults() Config {
	return Config{Addr: "127.0.0.1:8080", DataDir: "./linli-data", SessionIdle: 30 * time.Minute, SessionMax: 12 * time.Hour, MaxBody: 1 << 20, LogLevel: "info",
		Modules: Values{}}
}

// Declare adds modules' settings at their defaults (tests and embedders
// that build a Config by hand call it; Load does it from the environment).
func (c *Config) Declare(settings []Setting) {
	if c.Modules == nil {
		c.Modules = Values{}
	}
	for _, s := range settings {
		c.settings = append(c.settings, s)
		if _, ok := c.Modules[s.Env]; !ok {
			c.Modules[s.Env] = s.Default
		}
	}
}

// Bind registers the shared flags on fs, with the environment as defaults.
func (c *Config) Bind(fs *flag.FlagSet) {
	fs.StringVar(&c.Addr, "addr", c.Addr, "监听地址 / listen address (LINLI_ADDR)")
	fs.StringVar(&c.DataDir, "data-dir", c.DataDir, "数据目录 / data folder for the embedded store (LINLI_DATA_DIR)")
	fs.StringVar(&c.DatabaseURL, "database-url", c.DatabaseURL, "PostgreSQL 连接串 / PostgreSQL URL (LINLI_DATABASE_URL)")
	fs.Func("session-idle", "会话空闲超时 / idle session timeout, e.g. 30m (LINLI_SESSION_IDLE)", durationFlag(&c.SessionIdle))
	fs.Func("session-max", "会话最长时间 / absolute session lifetime, e.g. 12h (LINLI_SESSION_MAX)", durationFlag(&c.SessionMax))
	fs.BoolVar(&c.SecureCookies, "secure-cookies", c.SecureCookies, "总是设置 Secure Cookie（TLS 代理之后）/ always mark cookies Secure (behind a TLS proxy) (LINLI_SECURE_COOKIES)")
	fs.StringVar(&c.LogLevel, "log-level", c.LogLevel, "日志级别 debug|info|warn|error (LINLI_LOG_LEVEL)")
	for _, s := range c.settings {
		if s.Flag != "" {
			fs.Func(s.Flag, s.Usage+" ("+s.Env+")", func(v string) error { c.Modules[s.Env] = v; return nil })
		}
	}
}

func durationFlag(dst *time.Duration) func(string) error {
	return func(s string) error {
		d, err := ParseDuration(s)
		if err != nil {
			return err
		}
		*dst = d
		return nil
	}
}

// FromEnv reads LINLI_* variables over the defaults, the core's and the
// modules' settings; each bad value is reported by name.
func FromEnv(getenv func(string) string, settings ...Setting) (Config, error) {
	c := Defaults()
	c.Declare(settings)
	for _, s := range settings {
		if v := getenv(s.Env); v != "" {
			c.Modules[s.Env] = v
		}
	}
	var errs []error
	str := func(name string, dst *string) {
		if v := getenv(name); v != "" {
			*dst = v
		}
	}
	dur := func(name string, dst *time.Duration) {
		if v := getenv(name); v != "" {
			d, err := ParseDuration(v)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", name, err))
				return
			}
			*dst = d
		}
	}
	boolean := func(name string, dst *bool) {
		if v := getenv(name); v != "" {
			b, err := strconv.ParseBool(v)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s: 须为 true 或 false / must be true or false, got %q", name, v))
				return
			}
			*dst = b
		}
	}
	str("LINLI_ADDR", &c.Addr)
	str("LINLI_DATA_DIR", &c.DataDir)
	str("LINLI_DATABASE_URL", &c.DatabaseURL)
	str("LINLI_DATA_KEY", &c.DataKey)
	str("LINLI_LOG_LEVEL", &c.LogLevel)
	dur("LINLI_SESSION_IDLE", &c.SessionIdle)
	dur("LINLI_SESSION_MAX", &c.SessionMax)
	boolean("LINLI_SECURE_COOKIES", &c.SecureCookies)
	boolean("LINLI_TRUST_PROXY", &c.TrustProxy)
	if v := getenv("LINLI_MAX_BODY"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			errs = append(errs, fmt.Errorf("LINLI_MAX_BODY: 须为字节数 / must be a number of bytes, got %q", v))
		} else {
			c.MaxBody = n
		}
	}
	return c, errors.Join(errs...)
}

// ParseDuration accepts Go durations ("30m", "12h") and bounds them.
func ParseDuration(s string) (time.Duration, error) {
	d, err := time.ParseDuration(strings.TrimSpace(s))
	if err != nil {
		return 0, fmt.Errorf("时长格式应如 30m、12h / duration must look like 30m or 12h, got %q", s)
	}
	if d < time.Minute || d > 30*24*time.Hour {
		return 0, fmt.Errorf("时长须在 1 分钟至 30 天之间 / duration must be from 1m to 720h, got %q", s)
	}
	return d, nil
}

// Validate checks the settings together; the error names every bad one.
func (c Config) Validate() error {
	var errs []error
	host, port, err := net.SplitHostPort(c.Addr)
	if err != nil {
		errs = append(errs, fmt.Errorf("addr: 监听地址应如 127.0.0.1:8080 或 :8080 / listen address must look like 127.0.0.1:8080 or :8080, got %q", c.Addr))
	} else if n, perr := strconv.Atoi(port); perr != nil || n < 0 || n > 65535 {
		errs = append(errs, fmt.Errorf("addr: 端口须为 0–65535 / port must be 0–65535, got %q", port))
	} else if host != "" && net.ParseIP(host) == nil && host != "localhost" {
		errs = append(errs, fmt.Errorf("addr: 主机须为 IP 地址或 localhost / host must be an IP address or localhost, got %q", host))
	}
	if c.DatabaseURL == "" && strings.TrimSpace(c.DataDir) == "" {
		errs = append(errs, errors.New("data-dir: 数据目录不能为空 / data folder must not be empty"))
	}
	if c.DatabaseURL != "" {
		u, err := url.Parse(c.DatabaseURL)
		if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
			errs = append(errs, errors.New("database-url: 须为 postgres:// 开头的连接串 / must be a postgres:// URL"))
		}
	}
	if c.SessionIdle > c.SessionMax {
		errs = append(errs, errors.New("session-idle: 空闲超时不能长于会话最长时间 / idle timeout must not exceed the session lifetime"))
	}
	if c.MaxBody < 1024 || c.MaxBody > 1<<30 {
		errs = append(errs, fmt.Errorf("LINLI_MAX_BODY: 须在 1 KiB 至 1 GiB 之间 / must be from 1 KiB to 1 GiB, got %d", c.MaxBody))
	}
	for _, st := range c.settings {
		if st.Check == nil {
			continue
		}
		if err := st.Check(c.Modules[st.Env], c.Modules); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", st.Env, err))
		}
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		errs = append(errs, fmt.Errorf("log-level: 须为 debug、info、warn 或 error / must be debug, info, warn or error, got %q", c.LogLevel))
	}
	return errors.Join(errs...)
}

// Load reads the environment, then the flags in args, for the core's
// settings and the modules' ones.
func Load(fs *flag.FlagSet, args []string, settings ...Setting) (Config, error) {
	c, err := FromEnv(os.Getenv, settings...)
	if err != nil {
		return c, err
	}
	c.Bind(fs)
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	return c, c.Validate()
}
