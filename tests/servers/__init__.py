"""Small servers the tests run: resources that exercise what the sample does not declare."""
