package localmi

import (
	"strconv"
	"time"
)

func unixString(s string) (time.Time, error) {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return time.Time{}, err
	}
	return time.Unix(n, 0), nil
}

func atoi(s string) (int64, error) { return strconv.ParseInt(s, 10, 64) }
