"""Operations: health of the pieces a deployment depends on."""
