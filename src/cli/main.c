/*
 * main.c — `onecert`: dispatch to a command group.  See docs/cli.md.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "onecert/log.h"

static const char usage[] =
"usage: onecert <group> <command> [options]\n"
"\n"
"CA (一证通 side; DIR is a CA directory):\n"
"  onecert ca init    --dir DIR --algo ec|sm2|rsa [--name CN] [--base-url URL] [--dev-file-keys]\n"
"  onecert ca enroll  --dir DIR --name 企业名称 --uscc USCC [--st 省] [--l 市] [--legal-rep 姓名]\n"
"                     [--contact 姓名] [--phone 号码] [--ic-reg-no N] [--tax-no N] [--insurance-no N]\n"
"                     [--materials JSON] [--medium SERIAL] [--profile enterprise|personal --id-number N]\n"
"  onecert ca approve --dir DIR --enrollment ID\n"
"  onecert ca reject  --dir DIR --enrollment ID --reason TEXT\n"
"  onecert ca issue   --dir DIR --csr REQ.pem --name 企业名称 --uscc USCC [--profile enterprise|personal] --out CERT.pem\n"
"  onecert ca issue   --dir DIR --enrollment ID --csr REQ.pem --out CERT.pem\n"
"  onecert ca issue-token --dir DIR --enrollment ID (--label L | --token SERIAL) --pin PIN [--key-algo ec|rsa] [--out CERT.pem]\n"
"  onecert ca renew   --dir DIR --serial HEX (--csr REQ.pem | --token T --pin PIN) --out CERT.pem\n"
"  onecert ca change  --dir DIR --serial HEX [--name N] [--uscc U] [--st ..] … (--csr REQ.pem | --token T --pin PIN) --out CERT.pem\n"
"  onecert ca reissue --dir DIR --serial HEX (--csr REQ.pem --medium NEW | --label L --pin PIN) --out CERT.pem\n"
"  onecert ca revoke  --dir DIR --serial HEX --reason keyCompromise|superseded|cessationOfOperation|affiliationChanged|unspecified\n"
"  onecert ca crl     --dir DIR --out CRL.pem\n"
"  onecert ca query   --dir DIR (--serial HEX | --uscc USCC | --uid ID | --medium SERIAL) [--json]\n"
"  onecert ca unlock  --dir DIR --token SERIAL --new-pin PIN\n"
"  onecert ca verify  --dir DIR --cert CERT.pem [--crl-check]\n"
"  onecert ca audit   --dir DIR [--verify] [--json]\n"
"  onecert ca grant-operator | revoke-operator --dir DIR --serial HEX\n"
"  onecert ca app-open | app-close --dir DIR --serial HEX --app ID;  onecert ca apps --dir DIR --serial HEX\n"
"  onecert ca serve   --dir DIR [--listen 127.0.0.1:8080] [--tls-listen 127.0.0.1:8443] [--user NAME]\n"
"\n"
"Service hall (办事大厅 side; HDIR is a hall directory):\n"
"  onecert hall init  --dir HDIR --trust CA.pem[,CA2.pem] [--tls-cert F --tls-key F] [--tls-listen ADDR]\n"
"  onecert hall serve --dir HDIR [--tls-listen ADDR] [--listen ADDR]\n"
"  onecert hall grant-role | revoke-role --dir HDIR --serial HEX --role reviewer|admin\n"
"  onecert admin import-segments --dir HDIR --file F [--replace]   (mobile number segments)\n"
"  onecert admin outbox   --dir HDIR [--to MOBILE] [--after ID] [--json]\n"
"  onecert admin send-sms --dir HDIR --to MOBILE --text TEXT [--purpose P]   (test the SMS gateway)\n"
"\n"
"Local agent (证书助手, on the user's PC; lets the hall's pages use the USB key):\n"
"  onecert agent [--config agent.ini] [--listen 127.0.0.1:PORT] --origin https://HALL [--module P11.so]\n"
"\n"
"Tokens (USB keys, through PKCS#11; SoftHSM2 by default):\n"
"  onecert token list | init | keygen | csr | put-cert | objects | change-pin | unblock\n"
"\n"
"Common: --json (machine-readable output), --operator NAME (audit log; default $ONECERT_OPERATOR\n"
"or cli:$USER).  PINs may come from --pin-file F or $ONECERT_PIN / $ONECERT_SO_PIN.\n"
"Environment: ONECERT_LOG_LEVEL=debug|info|warn|error, SOFTHSM2_CONF, ONECERT_PKCS11_MODULE.\n";

int
main(int argc, char **argv)
{
	enum oc_log_level lvl = OC_LOG_WARN;
	const char *l = getenv("ONECERT_LOG_LEVEL");

	if (l != NULL)
		oc_log_parse_level(l, &lvl);
	oc_log_set_level(lvl);
	if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		fputs(usage, argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	if (strcmp(argv[1], "--version") == 0) {
		printf("onecert %s\n", ONECERT_VERSION);
		return 0;
	}
	/* the agent has no subcommands */
	if (strcmp(argv[1], "agent") == 0)
		return oc_cli_agent(argc - 1, argv + 1);
	if (argc < 3 || strcmp(argv[2], "--help") == 0) {
		fputs(usage, stdout);
		return argc < 3 ? 2 : 0;
	}
	if (strcmp(argv[1], "ca") == 0)
		return oc_cli_ca(argc - 2, argv + 2);
	if (strcmp(argv[1], "hall") == 0)
		return oc_cli_hall(argc - 2, argv + 2);
	if (strcmp(argv[1], "token") == 0)
		return oc_cli_token(argc - 2, argv + 2);
	if (strcmp(argv[1], "admin") == 0)
		return oc_cli_admin(argc - 2, argv + 2);
	return oc_cli_usage("unknown command group '%s'", argv[1]);
}
