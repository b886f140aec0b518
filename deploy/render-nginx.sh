#!/bin/sh
# Print deploy/nginx.conf with its placeholders filled in from the environment:
#
#   SERVER_NAME=booking.your-clinic.example \
#   CERTIFICATE=/etc/letsencrypt/live/booking.your-clinic.example/fullchain.pem \
#   CERTIFICATE_KEY=/etc/letsencrypt/live/booking.your-clinic.example/privkey.pem \
#   sh deploy/render-nginx.sh > /etc/nginx/conf.d/clinic.conf
#
# HTTPS_PORT (443), HTTP_PORT (80) and GUNICORN (127.0.0.1:8000, gunicorn's --bind) have
# defaults. The test suite runs this script too, with its own ports and certificate.
set -eu
: "${SERVER_NAME:?set SERVER_NAME to the site's host name}"
: "${CERTIFICATE:?set CERTIFICATE to the certificate chain file}"
: "${CERTIFICATE_KEY:?set CERTIFICATE_KEY to the private key file}"
sed \
    -e "s|@SERVER_NAME@|${SERVER_NAME}|g" \
    -e "s|@HTTPS_PORT@|${HTTPS_PORT:-443}|g" \
    -e "s|@HTTP_PORT@|${HTTP_PORT:-80}|g" \
    -e "s|@CERTIFICATE@|${CERTIFICATE}|g" \
    -e "s|@CERTIFICATE_KEY@|${CERTIFICATE_KEY}|g" \
    -e "s|@GUNICORN@|${GUNICORN:-127.0.0.1:8000}|g" \
    "$(dirname "$0")/nginx.conf"
