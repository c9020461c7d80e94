/* Yibenzhang's format checks as native DuckDB scalar functions (C extension API, stable ABI).
 *
 * The same checks as quality/validators.py (the Python reference and the tests' judge): GB 11643
 * 身份证号, GB 32100 统一社会信用代码, Luhn bank cards, mobile and landline numbers, e-mail
 * addresses and the textual date forms. Run inside DuckDB's own threads over its vectors, they
 * cost a few nanoseconds per value, where a Python function costs a GIL hand-over per 2,048 rows.
 *
 * Settings (today's date, the province prefixes) stay in SQL: ybz_id_card returns the province
 * prefix and birth date of a structurally valid number, and SQL compares them with the settings.
 *
 * No DuckDB header is needed: the functions used are found in the API table DuckDB hands over by
 * their exported symbol names (dladdr), so a table whose order differs between DuckDB releases
 * cannot make us call the wrong function; a name not found refuses the load.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

typedef uint64_t idx_t;
typedef void *handle;

/* duckdb_string_t: 16 bytes; values of up to 12 bytes are inlined. */
typedef union {
	struct {
		uint32_t length;
		char prefix[4];
		const char *ptr;
	} pointer;
	struct {
		uint32_t length;
		char inlined[12];
	} inlined;
} dstring;

enum { TYPE_BOOLEAN = 1, TYPE_INTEGER = 4, TYPE_BIGINT = 5, TYPE_VARCHAR = 17 };

typedef void (*scalar_body)(handle info, handle input, handle output);

struct extension_access {
	void (*set_error)(handle info, const char *error);
	handle *(*get_database)(handle info);
	const void *(*get_api)(handle info, const char *version);
};

static struct {
	int (*connect)(handle database, handle *out);
	void (*disconnect)(handle *connection);
	handle (*create_logical_type)(int type);
	void (*destroy_logical_type)(handle *type);
	handle (*data_chunk_get_vector)(handle chunk, idx_t column);
	idx_t (*data_chunk_get_size)(handle chunk);
	void *(*vector_get_data)(handle vector);
	uint64_t *(*vector_get_validity)(handle vector);
	void (*vector_ensure_validity_writable)(handle vector);
	handle (*create_scalar_function)(void);
	void (*destroy_scalar_function)(handle *function);
	void (*scalar_function_set_name)(handle function, const char *name);
	void (*scalar_function_add_parameter)(handle function, handle type);
	void (*scalar_function_set_return_type)(handle function, handle type);
	void (*scalar_function_set_function)(handle function, scalar_body body);
	int (*register_scalar_function)(handle connection, handle function);
} api;

static const struct {
	const char *name;
	size_t offset;
} wanted[] = {
#define WANT(field) {"duckdb_" #field, offsetof(__typeof__(api), field)}
    WANT(connect),
    WANT(disconnect),
    WANT(create_logical_type),
    WANT(destroy_logical_type),
    WANT(data_chunk_get_vector),
    WANT(data_chunk_get_size),
    WANT(vector_get_data),
    WANT(vector_get_validity),
    WANT(vector_ensure_validity_writable),
    WANT(create_scalar_function),
    WANT(destroy_scalar_function),
    WANT(scalar_function_set_name),
    WANT(scalar_function_add_parameter),
    WANT(scalar_function_set_return_type),
    WANT(scalar_function_set_function),
    WANT(register_scalar_function),
#undef WANT
};

#define API_SCAN_LIMIT 1024 /* entries examined; the table ends where names stop being duckdb_* */

static bool find_api(void *const *table) {
	size_t found = 0, n = sizeof(wanted) / sizeof(wanted[0]);
	memset(&api, 0, sizeof(api)); /* each database loading us fills it again */
	for (size_t i = 0; i < API_SCAN_LIMIT && found < n; i++) {
		Dl_info info;
		if (!table[i] || !dladdr(table[i], &info) || !info.dli_sname || strncmp(info.dli_sname, "duckdb_", 7) != 0) {
			break;
		}
		for (size_t k = 0; k < n; k++) {
			void **slot = (void **)((char *)&api + wanted[k].offset);
			if (!*slot && strcmp(info.dli_sname, wanted[k].name) == 0) {
				*slot = table[i];
				found++;
			}
		}
	}
	return found == n;
}

static inline const unsigned char *bytes_of(const dstring *s) {
	return (const unsigned char *)(s->inlined.length <= 12 ? s->inlined.inlined : s->pointer.ptr);
}

static inline bool is_digit(unsigned char c) {
	return c >= '0' && c <= '9';
}

static bool all_digits(const unsigned char *p, uint32_t n) {
	for (uint32_t i = 0; i < n; i++) {
		if (!is_digit(p[i])) {
			return false;
		}
	}
	return true;
}

static int number(const unsigned char *p, uint32_t n) {
	int v = 0;
	for (uint32_t i = 0; i < n; i++) {
		v = v * 10 + (p[i] - '0');
	}
	return v;
}

/* A real calendar date (years 1-9999, as Python's date): YYYYMMDD, or 0. */
static int32_t calendar(int year, int month, int day) {
	static const int days[13] = {0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	if (year < 1 || year > 9999 || month < 1 || month > 12 || day < 1) {
		return 0;
	}
	int limit = days[month];
	if (month == 2 && year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)) {
		limit = 29;
	}
	return day <= limit ? year * 10000 + month * 100 + day : 0;
}

/* --- the checks: each takes the value's bytes, returns the result as int64 ------------------- */

/* GB 11643: prefix * 10^8 + birth date (YYYYMMDD) of a well-formed number, 0 otherwise. */
static int64_t id_card(const unsigned char *p, uint32_t n) {
	static const int weights[17] = {7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2};
	static const char check[12] = "10X98765432";
	int32_t born;
	if (n == 18) {
		if (!all_digits(p, 17) || !(is_digit(p[17]) || p[17] == 'X')) {
			return 0;
		}
		int sum = 0;
		for (int i = 0; i < 17; i++) {
			sum += (p[i] - '0') * weights[i];
		}
		if (check[sum % 11] != (char)p[17]) {
			return 0;
		}
		born = calendar(number(p + 6, 4), number(p + 10, 2), number(p + 12, 2));
	} else if (n == 15) {
		if (!all_digits(p, 15)) {
			return 0;
		}
		born = calendar(1900 + number(p + 6, 2), number(p + 8, 2), number(p + 10, 2));
	} else {
		return 0;
	}
	return born ? (int64_t)number(p, 2) * 100000000 + born : 0;
}

static signed char uscc_index[256]; /* position in the GB 32100 alphabet, -1 outside it */

static void init_uscc_index(void) {
	static const char alphabet[] = "0123456789ABCDEFGHJKLMNPQRTUWXY";
	memset(uscc_index, -1, sizeof(uscc_index));
	for (int i = 0; alphabet[i]; i++) {
		uscc_index[(unsigned char)alphabet[i]] = (signed char)i;
	}
}

/* GB 32100: 18 characters of the code alphabet, positions 3-8 digits, MOD 31 check character. */
static int64_t uscc(const unsigned char *p, uint32_t n) {
	static const int weights[17] = {1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28};
	if (n != 18) {
		return 0;
	}
	int index[18];
	for (int i = 0; i < 18; i++) {
		index[i] = uscc_index[p[i]];
		if (index[i] < 0) {
			return 0;
		}
	}
	int sum = 0;
	for (int i = 0; i < 17; i++) {
		sum += index[i] * weights[i];
	}
	return all_digits(p + 2, 6) && (31 - sum % 31) % 31 == index[17];
}

/* Bank cards: 12-19 digits passing Luhn. */
static int64_t bank_card(const unsigned char *p, uint32_t n) {
	if (n < 12 || n > 19 || !all_digits(p, n)) {
		return 0;
	}
	int sum = 0;
	for (uint32_t k = 0; k < n; k++) { /* k-th digit from the right; odd k are doubled */
		int d = p[n - 1 - k] - '0';
		sum += (k % 2) ? (d > 4 ? 2 * d - 9 : 2 * d) : d;
	}
	return sum % 10 == 0;
}

/* (\+86[- ]?)?1[3-9][0-9]{9} */
static int64_t mobile(const unsigned char *p, uint32_t n) {
	if (n >= 3 && p[0] == '+' && p[1] == '8' && p[2] == '6') {
		p += 3;
		n -= 3;
		if (n == 12 && (p[0] == '-' || p[0] == ' ')) {
			p++;
			n--;
		}
	}
	return n == 11 && p[0] == '1' && p[1] >= '3' && p[1] <= '9' && all_digits(p + 2, 9);
}

/* [2-9][0-9]{6,7}(-[0-9]{1,6})? : the local number and extension of a landline */
static bool landline_local(const unsigned char *p, uint32_t n) {
	if (n == 0 || p[0] < '2' || p[0] > '9') {
		return false;
	}
	uint32_t run = 1;
	while (run < n && is_digit(p[run])) {
		run++;
	}
	if (run < 7 || run > 8) {
		return false;
	}
	if (run == n) {
		return true;
	}
	uint32_t rest = n - run - 1; /* after the hyphen */
	return p[run] == '-' && rest >= 1 && rest <= 6 && all_digits(p + run + 1, rest);
}

/* (0[1-9][0-9]{1,2}-?)?[2-9][0-9]{6,7}(-[0-9]{1,6})? — every split the expression allows */
static int64_t landline(const unsigned char *p, uint32_t n) {
	if (landline_local(p, n)) {
		return 1;
	}
	if (n < 3 || p[0] != '0' || p[1] < '1' || p[1] > '9' || !is_digit(p[2])) {
		return 0;
	}
	for (uint32_t area = 3; area <= 4 && area <= n; area++) {
		if (area == 4 && !is_digit(p[3])) {
			break;
		}
		if (landline_local(p + area, n - area)) {
			return 1;
		}
		if (area < n && p[area] == '-' && landline_local(p + area + 1, n - area - 1)) {
			return 1;
		}
	}
	return 0;
}

static bool email_char(unsigned char c, const char *extra) {
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || is_digit(c) || (c && strchr(extra, c));
}

/* [A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}, at most 254 characters */
static int64_t email(const unsigned char *p, uint32_t n) {
	if (n > 254) {
		return 0;
	}
	uint32_t at = 0;
	while (at < n && email_char(p[at], "._%+-")) {
		at++;
	}
	if (at == 0 || at >= n || p[at] != '@') {
		return 0;
	}
	uint32_t labels = 0, start = at + 1, last_start = start;
	for (uint32_t i = start; i <= n; i++) {
		if (i == n || p[i] == '.') {
			if (i == start) {
				return 0; /* an empty label */
			}
			labels++;
			last_start = start;
			start = i + 1;
		} else if (!email_char(p[i], "-")) {
			return 0;
		}
	}
	if (labels < 2 || n - last_start < 2) {
		return 0;
	}
	for (uint32_t i = last_start; i < n; i++) {
		if (!((p[i] >= 'A' && p[i] <= 'Z') || (p[i] >= 'a' && p[i] <= 'z'))) {
			return 0;
		}
	}
	return 1;
}

/* Digits from p[*at]: at least min and at most max of them; their value, or -1. */
static int digits_at(const unsigned char *p, uint32_t n, uint32_t *at, uint32_t min, uint32_t max) {
	uint32_t start = *at;
	while (*at < n && *at - start < max && is_digit(p[*at])) {
		(*at)++;
	}
	return *at - start >= min ? number(p + start, *at - start) : -1;
}

static bool literal_at(const unsigned char *p, uint32_t n, uint32_t *at, const char *text) {
	size_t len = strlen(text);
	if (*at + len > n || memcmp(p + *at, text, len) != 0) {
		return false;
	}
	*at += (uint32_t)len;
	return true;
}

/* 2023-05-01, 2023/5/1, 2023年5月1日 or 20230501: YYYYMMDD of a real date, or 0. */
static int64_t date_ymd(const unsigned char *p, uint32_t n) {
	if (n < 8 || !all_digits(p, 4)) {
		return 0;
	}
	int year = number(p, 4);
	if (n == 8 && all_digits(p, 8)) {
		return calendar(year, number(p + 4, 2), number(p + 6, 2));
	}
	static const char *const forms[3][3] = {{"-", "-", ""}, {"/", "/", ""}, {"年", "月", "日"}};
	for (int f = 0; f < 3; f++) {
		uint32_t at = 4;
		if (!literal_at(p, n, &at, forms[f][0])) {
			continue;
		}
		int month = digits_at(p, n, &at, 1, 2);
		if (month < 0 || !literal_at(p, n, &at, forms[f][1])) {
			return 0;
		}
		int day = digits_at(p, n, &at, 1, 2);
		if (day < 0 || !literal_at(p, n, &at, forms[f][2]) || at != n) {
			return 0;
		}
		return calendar(year, month, day);
	}
	return 0;
}

/* --- vector plumbing ------------------------------------------------------------------------ */

typedef int64_t (*check)(const unsigned char *p, uint32_t n);

/* NULL in, NULL out; otherwise the check's result as the function's return type. */
static void run(handle input, handle output, check fn, int type) {
	idx_t rows = api.data_chunk_get_size(input);
	handle column = api.data_chunk_get_vector(input, 0);
	const dstring *values = (const dstring *)api.vector_get_data(column);
	const uint64_t *valid = api.vector_get_validity(column);
	void *out = api.vector_get_data(output);
	uint64_t *out_valid = NULL;
	if (valid) {
		api.vector_ensure_validity_writable(output);
		out_valid = api.vector_get_validity(output);
	}
	for (idx_t i = 0; i < rows; i++) {
		if (valid && !(valid[i / 64] >> (i % 64) & 1)) {
			out_valid[i / 64] &= ~((uint64_t)1 << (i % 64));
			continue;
		}
		int64_t r = fn(bytes_of(&values[i]), values[i].inlined.length);
		if (type == TYPE_BOOLEAN) {
			((bool *)out)[i] = r != 0;
		} else if (type == TYPE_INTEGER) {
			((int32_t *)out)[i] = (int32_t)r;
		} else {
			((int64_t *)out)[i] = r;
		}
	}
}

#define BODY(fn, type)                                                                                                 \
	static void body_##fn(handle info, handle input, handle output) {                                                  \
		(void)info;                                                                                                    \
		run(input, output, fn, type);                                                                                  \
	}
BODY(id_card, TYPE_BIGINT)
BODY(uscc, TYPE_BOOLEAN)
BODY(bank_card, TYPE_BOOLEAN)
BODY(mobile, TYPE_BOOLEAN)
BODY(landline, TYPE_BOOLEAN)
BODY(email, TYPE_BOOLEAN)
BODY(date_ymd, TYPE_INTEGER)

static bool add(handle connection, const char *name, scalar_body body, int type) {
	handle fn = api.create_scalar_function();
	handle varchar = api.create_logical_type(TYPE_VARCHAR);
	handle result = api.create_logical_type(type);
	api.scalar_function_set_name(fn, name);
	api.scalar_function_add_parameter(fn, varchar);
	api.scalar_function_set_return_type(fn, result);
	api.scalar_function_set_function(fn, body);
	bool ok = api.register_scalar_function(connection, fn) == 0;
	api.destroy_logical_type(&varchar);
	api.destroy_logical_type(&result);
	api.destroy_scalar_function(&fn);
	return ok;
}

/* The entry point DuckDB looks for in an extension named ybz_checks with the C_STRUCT ABI. */
__attribute__((visibility("default"))) bool ybz_checks_init_c_api(handle info, struct extension_access *access) {
	void *const *table = (void *const *)access->get_api(info, "v1.2.0");
	if (!table || !find_api(table)) {
		access->set_error(info, "ybz_checks: DuckDB's C API table lacks a function this extension uses");
		return false;
	}
	init_uscc_index();
	handle connection = NULL;
	if (api.connect(*access->get_database(info), &connection) != 0) {
		access->set_error(info, "ybz_checks: could not connect to the database");
		return false;
	}
	bool ok = add(connection, "ybz_native_id_card", body_id_card, TYPE_BIGINT) &&
	          add(connection, "ybz_native_uscc", body_uscc, TYPE_BOOLEAN) &&
	          add(connection, "ybz_native_bank_card", body_bank_card, TYPE_BOOLEAN) &&
	          add(connection, "ybz_native_mobile", body_mobile, TYPE_BOOLEAN) &&
	          add(connection, "ybz_native_landline", body_landline, TYPE_BOOLEAN) &&
	          add(connection, "ybz_native_email", body_email, TYPE_BOOLEAN) &&
	          add(connection, "ybz_native_date_ymd", body_date_ymd, TYPE_INTEGER);
	api.disconnect(&connection);
	if (!ok) {
		access->set_error(info, "ybz_checks: registering a function failed");
	}
	return ok;
}
