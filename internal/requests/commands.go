package requests

import (
	"context"
	"flag"
	"fmt"

	"linli/internal/access"
	"linli/internal/module"
)

const open311KeyUsage = `linli admin open311-key --name NAME --division CODE [--data-dir DIR | --database-url URL]

为一个接入方（如 12345 热线系统）签发 Open311 GeoReport v2 的 api_key，绑定到一个区划及其下级；
密钥只打印一次，库中只存其哈希。
Issues an Open311 GeoReport v2 api_key for one integration, bound to a division subtree;
the key is printed once and only its hash is stored.

例 / example:
  linli admin open311-key --name 12345-hotline --division 330106`

func runOpen311Key(c module.CLI, args []string) int {
	var name, division string
	m, _, closeApp, code := c.Open("admin open311-key", args, func(fs *flag.FlagSet) {
		fs.StringVar(&name, "name", "", "接入方名称 / integration name")
		fs.StringVar(&division, "division", "", "区划代码 / division code")
	})
	if code >= 0 {
		return code
	}
	defer closeApp()
	key, err := StoreOf(m).CreateKey(access.With(context.Background(), access.Operator()), name, division)
	if err != nil {
		return module.Fail(c, err)
	}
	fmt.Fprintf(c.Stdout, "Open311 api_key（只显示这一次 / shown only now）: %s\n", key)
	return 0
}
